import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoadReceiver, type FeedbackPeer } from './receiver.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { RtpView, writeRtpHeader } from '../../../src/rtp/rtp-packet.ts';
import { ExtensionWriter } from '../../../src/rtp/extension-writer.ts';
import { parseRtcp } from '../../../src/rtp/rtcp-compound.ts';
import type { RtcpPacket, TwccPacket } from '../../../src/rtp/rtcp-types.ts';

const TCC = 3;
const SSRC = 0x1111;
const RTX_SSRC = 0x2222;

/** A plaintext RTP packet as the subscribe peer hands it over: `payload` bytes, or padding only when 0. */
function packet(ssrc: number, seq: number, tseq: number, payload: Buffer): RtpView {
  const ext = new ExtensionWriter();
  ext.setTransportSeq(TCC, tseq);
  const buf = Buffer.alloc(1500);
  const hl = writeRtpHeader(buf, 0, { marker: false, payloadType: ssrc === RTX_SSRC ? 97 : 96, sequenceNumber: seq, timestamp: 1000, ssrc }, ext);
  let len = hl + payload.length;
  payload.copy(buf, hl);
  if (payload.length === 0) {
    buf[0] |= 0x20; // RFC 3550 §5.1: padding only, the last octet counts it
    buf.fill(0, len, len + 3);
    buf[len + 3] = 4;
    len += 4;
  }
  const v = new RtpView();
  assert.equal(v.parse(buf, len), null);
  return v;
}

/** A VP8 payload (RFC 7741 §4.2: S bit, partition 0) of a delta frame. */
const vp8 = () => Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa, 0xbb]);

function setup(discardRtx: boolean) {
  const clock = new FakeClock();
  const rtcp: RtcpPacket[] = [];
  const nacked: number[] = [];
  const peer: FeedbackPeer = {
    state: 'connected',
    rtcpSsrc: 9,
    sendNack: (_ssrc, seqs) => void nacked.push(...seqs),
    sendPli: () => {},
    sendRtcp: (b) => void parseRtcp(b, b.length, rtcp),
  };
  const r = new LoadReceiver(() => peer, clock, { discardRtx, receiverReports: false, rttMs: 20 });
  r.setStreams([{ publisherId: 'p', kind: 'video', ssrc: SSRC, rtxSsrc: RTX_SSRC }], TCC);
  return { clock, r, rtcp, nacked };
}

/** Media 100, 101, (102 lost), 103; RTX of 102; a padding-only packet; media 104. Transport seqs 1..7, 3 lost with 102. */
function feed(s: ReturnType<typeof setup>): void {
  s.r.handleRtp(packet(SSRC, 100, 1, vp8()));
  s.r.handleRtp(packet(SSRC, 101, 2, vp8()));
  s.r.handleRtp(packet(SSRC, 103, 4, vp8()));
  s.clock.advance(30);
  const osn = Buffer.concat([Buffer.from([0, 102]), vp8()]);
  s.r.handleRtp(packet(RTX_SSRC, 7, 5, osn));
  s.r.handleRtp(packet(RTX_SSRC, 8, 6, Buffer.alloc(0)));
  s.r.handleRtp(packet(SSRC, 104, 7, vp8()));
  s.clock.advance(200);
}

function received(rtcp: RtcpPacket[]): Set<number> {
  const got = new Set<number>();
  for (const p of rtcp) {
    if (p.type !== 'twcc') continue;
    const t = p as TwccPacket;
    for (let k = 0; k < t.statusCount; k++) if (!Number.isNaN(t.arrivalUs[k])) got.add((t.baseSeq + k) & 0xffff);
  }
  return got;
}

describe('LoadReceiver discardRtx', () => {
  it('a normal receiver takes the repair and reports every packet it got', () => {
    const s = setup(false);
    feed(s);
    assert.deepEqual([...received(s.rtcp)].sort((a, b) => a - b), [1, 2, 4, 5, 6, 7]);
    const rep = s.r.reports()[0]!;
    assert.equal(rep.lost, 0, 'repaired by the RTX');
    assert.equal(s.r.discardedRtx, 0);
  });

  it('drops RTX and padding-only packets unseen: feedback reports them not received, the hole stays and is NACKed again', () => {
    const s = setup(true);
    feed(s);
    assert.deepEqual([...received(s.rtcp)].sort((a, b) => a - b), [1, 2, 4, 7]);
    assert.equal(s.r.discardedRtx, 2, 'the RTX and the RTX padding');
    const rep = s.r.reports()[0]!;
    assert.equal(rep.lost, 1);
    assert.equal(rep.rtxPackets, 0);
    assert.ok(s.nacked.filter((x) => x === 102).length >= 2, `102 NACKed again after the discarded repair (${s.nacked.join(',')})`);
    // Padding on the media SSRC is dropped too (it would otherwise look like a packet of the stream).
    s.r.handleRtp(packet(SSRC, 105, 8, Buffer.alloc(0)));
    assert.equal(s.r.discardedPadding, 1);
  });
});
