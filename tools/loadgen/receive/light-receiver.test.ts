import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SrtpSession, srtpKeyLengths, type SrtpProfileName } from '../../../src/transport/srtp/index.ts';
import { RtpView, writeRtpHeader } from '../../../src/rtp/rtp-packet.ts';
import { ExtensionWriter } from '../../../src/rtp/extension-writer.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import type { RtcpPacket } from '../../../src/rtp/rtcp-types.ts';
import { LightReceiver, type LightPeer } from './light-receiver.ts';

const SSRC = 0x1234;
const RTX_SSRC = 0x5678;
const TWCC_EXT = 3;
const NTP_UNIX_OFFSET = 2_208_988_800;

/** An SRTP sender, and a receiving side that does what NodePeer.onSrtp does with a light receiver. */
function harness(profile: SrtpProfileName, authEvery: number) {
  const { keyLength, saltLength } = srtpKeyLengths(profile);
  const key = randomBytes(keyLength);
  const salt = randomBytes(saltLength);
  const tx = new SrtpSession(profile, key, salt);
  const rx = new SrtpSession(profile, key, salt);
  const clock = new FakeClock();
  const sent: string[] = [];
  const peer: LightPeer = {
    state: 'connected',
    rtcpSsrc: 1,
    drops: new Map(),
    sendNack: (_ssrc, seqs) => void sent.push(`nack ${seqs.join(',')}`),
    sendPli: () => void sent.push('pli'),
    sendRtcp: () => void sent.push('rtcp'),
  };
  const r = new LightReceiver(() => peer, clock, undefined, authEvery);
  r.setStreams([{ publisherId: 'p', kind: 'video', ssrc: SSRC, rtxSsrc: RTX_SSRC }], TWCC_EXT);
  const ext = new ExtensionWriter();
  let tseq = 0;
  const view = new RtpView();
  let unprotected = 0;
  const deliver = (ssrc: number, seq: number, ts: number, payload: Buffer) => {
    ext.clear();
    ext.setTransportSeq(TWCC_EXT, tseq++);
    const plain = Buffer.alloc(12 + ext.byteLength() + payload.length);
    const hl = writeRtpHeader(plain, 0, { marker: false, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc }, ext);
    payload.copy(plain, hl);
    const wire = tx.protectRtp(plain, plain.length);
    assert.ok(Buffer.isBuffer(wire));
    if (r.handleProtected(wire)) return;
    unprotected++;
    const n = rx.unprotectRtp(wire, wire.length);
    if (typeof n !== 'number') return void peer.drops.set(n, (peer.drops.get(n) ?? 0) + 1);
    assert.equal(view.parse(wire, n), null);
    r.handleRtp(view);
  };
  return { r, clock, sent, deliver, peer, unprotected: () => unprotected };
}

for (const profile of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'] as const) {
  test(`${profile}: loss from clear headers, one packet in N authenticated`, () => {
    const h = harness(profile, 4);
    h.r.startWindow();
    for (let seq = 100; seq < 200; seq++) if (seq !== 150 && seq !== 151) h.deliver(SSRC, seq, 9000 + seq, Buffer.alloc(200, 7));
    const w = h.r.window();
    assert.equal(w.expected, 100);
    assert.equal(w.lost, 2);
    assert.equal(w.packets, 98);
    assert.equal(w.authenticated, h.unprotected());
    assert.ok(w.authenticated >= 24 && w.authenticated <= 25, `authenticated ${w.authenticated}`);
    assert.equal(w.authenticated + w.unauthenticated, 98);
    assert.equal(h.peer.drops.size, 0);
  });
}

test('an RTX repair (decrypted for its OSN) fills the hole; NACKs go out for what is missing', () => {
  const h = harness('AEAD_AES_128_GCM', 16);
  h.r.startWindow();
  for (let seq = 10; seq < 20; seq++) if (seq !== 15) h.deliver(SSRC, seq, 3000 * seq, Buffer.alloc(100, 1));
  h.clock.advance(30);
  for (let i = 0; i < 4; i++) h.r.tick();
  assert.ok(h.sent.includes('nack 15'), h.sent.join(' | '));
  const osn = Buffer.alloc(102, 1);
  osn.writeUInt16BE(15, 0);
  h.deliver(RTX_SSRC, 500, 3000 * 15, osn);
  const w = h.r.window();
  assert.equal(w.lost, 0);
  assert.equal(w.rtxPackets, 1);
});

test('a tampered packet that falls on the authentication sample is refused, not counted', () => {
  const h = harness('AEAD_AES_128_GCM', 1);
  const r = h.r;
  // authEvery 1: every packet goes through unprotect; break the tag of one.
  const orig = r.handleProtected.bind(r);
  let n = 0;
  r.handleProtected = (buf) => {
    if (n++ === 3) buf[buf.length - 1]! ^= 1;
    return orig(buf);
  };
  r.startWindow();
  for (let seq = 0; seq < 10; seq++) h.deliver(SSRC, seq, 0, Buffer.alloc(50));
  assert.equal(r.window().packets, 9);
  assert.equal([...h.peer.drops.values()].reduce((a, b) => a + b, 0), 1);
});

test('delay: send time from the timestamp and the forwarded sender report', () => {
  const h = harness('AEAD_AES_128_GCM', 16);
  // The SR says RTP 90000 was wall time W; a packet stamped 90000 + 900 (10 ms later) arrives 25 ms after W.
  const wall = h.clock.wallNow();
  const ntp = wall / 1000 + NTP_UNIX_OFFSET;
  const sr: RtcpPacket = { type: 'sr', ssrc: SSRC, ntpSec: Math.floor(ntp), ntpFrac: Math.floor((ntp - Math.floor(ntp)) * 2 ** 32), rtpTimestamp: 90000, packetCount: 0, octetCount: 0, reports: [] };
  h.r.handleRtcp(sr);
  h.clock.advance(25);
  h.deliver(SSRC, 1, 90900, Buffer.alloc(80));
  assert.ok(Math.abs(h.r.delay.percentile(50) - 15) < 0.5, `delay ${h.r.delay.percentile(50)}`);
  // Wrap-around of the 32-bit timestamp: a packet stamped before the SR's timestamp by 2^32 − x.
  h.r.handleRtcp({ ...sr, rtpTimestamp: 0xffff_ff00 });
  h.r.delay.reset();
  h.deliver(SSRC, 2, 0x100, Buffer.alloc(80)); // 512 ticks after the SR's timestamp: 5.7 ms
  assert.ok(Math.abs(h.r.delay.percentile(50) - (25 - 512 / 90)) < 0.5, `delay ${h.r.delay.percentile(50)}`);
});
