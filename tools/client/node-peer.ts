/**
 * A headless WebRTC peer built from the project's own transport code in the client role: ICE controlling
 * agent with USE-CANDIDATE (RFC 8445 §7.2.2, §8.1.1), DtlsSession in the role opposite to the server's,
 * SrtpSession both ways, RTP/RTCP with our writers. Runs over a real UDP socket or a VirtualLink.
 * NodeClient (node-client.ts) adds signaling: join over the WebSocket, publish, subscribe.
 */
import { randomBytes } from 'node:crypto';
import { buildBindingRequest, parseStun, verifyFingerprint, verifyMessageIntegrity, type TransportAddress } from '../../src/transport/ice/stun-message.ts';
import { generateIceCredentials, type IceCredentials } from '../../src/transport/ice/ice-lite.ts';
import { DtlsSession, type DtlsKeys, type DtlsRole } from '../../src/transport/dtls/dtls-session.ts';
import type { DtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { SrtpSession, type SrtpProfileName } from '../../src/transport/srtp/index.ts';
import { RtpView, writeRtpHeader } from '../../src/rtp/rtp-packet.ts';
import { ExtensionWriter } from '../../src/rtp/extension-writer.ts';
import { writeRtx } from '../../src/rtp/rtx.ts';
import { parseRtcp } from '../../src/rtp/rtcp-compound.ts';
import { writeNack, writePli } from '../../src/rtp/rtcp-feedback.ts';
import { writeSdesCname, writeSr } from '../../src/rtp/rtcp-reports.ts';
import type { NackPacket, RtcpPacket } from '../../src/rtp/rtcp-types.ts';
import type { PeerLink } from './peer-link.ts';

export type MediaKind = 'audio' | 'video';

/** One RTP stream the peer sends. */
export interface OutgoingStream {
  kind: MediaKind;
  /** What sendRtp names this stream by; default `kind` (simulcast layers need one each, e.g. "video/h"). */
  key?: string;
  /** Written in the mid / rtp-stream-id extensions (RFC 8843 §15, RFC 8852) when their ids are set. */
  mid?: string;
  rid?: string;
  ssrc: number;
  payloadType: number;
  clockRate: number;
  rtxSsrc?: number;
  rtxPayloadType?: number;
}

export interface RemoteTransport {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  /** Our DTLS role, the opposite of the server's (RFC 5763 §5). */
  dtlsRole: DtlsRole;
}

export interface NodePeerOptions {
  link: PeerLink;
  certificate: DtlsCertificate;
  ice?: IceCredentials;
  streams?: OutgoingStream[];
  /** Header extension ids written on what we send (0/absent = not written). */
  ext?: { transportCc?: number; audioLevel?: number; mid?: number; rid?: number; repairedRid?: number };
  cname?: string;
  /** Answer NACKs for our streams with RTX (RFC 4588) from the last 1024 packets. Default true. */
  answerNacks?: boolean;
}

export interface SendOptions {
  marker?: boolean;
  /** Sticky: later packets reuse the last timestamp given. */
  timestamp?: number;
  /** RFC 6464 level (0..127, -dBov) for audio; default 30. */
  audioLevel?: number;
}

export interface ReceivedStream {
  packets: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  payloadType: number;
}

interface SendState {
  s: OutgoingStream;
  seq: number;
  timestamp: number;
  packets: number;
  octets: number;
  rtxSeq: number;
  /** Plaintext packets by seq & 1023, for RTX. */
  history: (Buffer | null)[] | null;
}

const HISTORY = 1024;
/** Peer-reflexive type preference (RFC 8445 §5.1.2.2: 110) with the top local preference. */
const CHECK_PRIORITY = ((110 << 24) >>> 0) + (65535 << 8) + 255;
const CHECK_RETRANSMIT_MS = 100;
/** RFC 7675 §5.1: consent is refreshed well within the server's 30 s timeout. */
const CONSENT_MS = 5000;
const MAX_RTCP_KEPT = 2000;
/** Seconds from 1900 (NTP era 0) to 1970 (RFC 5905 §6). */
const NTP_UNIX_OFFSET = 2_208_988_800;

export const randomSsrc = () => randomBytes(4).readUInt32BE(0) || 1;

export class NodePeer {
  readonly link: PeerLink;
  readonly ice: IceCredentials;
  readonly certificate: DtlsCertificate;
  readonly cname: string;
  /** Our SSRC as the sender of feedback (RFC 4585 §6.1). */
  readonly rtcpSsrc = randomSsrc();
  state: 'new' | 'connecting' | 'connected' | 'failed' | 'closed' = 'new';
  srtpProfile: SrtpProfileName | null = null;
  /** Our address as the server's binding response reflected it. */
  mappedAddress: TransportAddress | null = null;
  /** Received RTP by SSRC (after SRTP). */
  readonly received = new Map<number, ReceivedStream>();
  /** Received RTCP, oldest first (the last 2000). */
  readonly rtcp: RtcpPacket[] = [];
  /** Why incoming datagrams were dropped, by reason. */
  readonly drops = new Map<string, number>();
  readonly counters = { rtpSent: 0, rtcpSent: 0, rtxSent: 0, rtpReceived: 0, rtcpReceived: 0, checksAnswered: 0 };
  /** Hooks; the view is only valid during the call. */
  onRtp: (view: RtpView) => void = () => {};
  onRtcp: (packet: RtcpPacket) => void = () => {};
  /**
   * A counting receiver's shortcut: sees each RTP datagram before SRTP (its header is in the clear, RFC 3711
   * §3.1) and returns true when it has taken it as is, unauthenticated; false sends it through unprotect
   * and onRtp as usual (e.g. a sample it wants authenticated). Null: every packet is unprotected.
   */
  onProtectedRtp: ((datagram: Buffer) => boolean) | null = null;

  private remote: RemoteTransport | null = null;
  private dtls: DtlsSession | null = null;
  private srtpIn: SrtpSession | null = null;
  private srtpOut: SrtpSession | null = null;
  private readonly streams = new Map<string, SendState>();
  private readonly bySsrc = new Map<number, SendState>();
  private readonly ext: { transportCc: number; audioLevel: number; mid: number; rid: number; repairedRid: number };
  private readonly extWriter = new ExtensionWriter();
  private readonly view = new RtpView();
  private readonly historyView = new RtpView();
  private readonly answerNacks: boolean;
  private readonly tieBreaker = randomBytes(8).readBigUInt64BE(0);
  private readonly pendingChecks = new Set<string>();
  private transportSeq = 0;
  private iceDone = false;
  private checkTimer: NodeJS.Timeout | null = null;
  private consentTimer: NodeJS.Timeout | null = null;
  private connecting: Promise<SrtpProfileName> | null = null;
  private settle: { resolve: (p: SrtpProfileName) => void; reject: (e: Error) => void } | null = null;

  constructor(opts: NodePeerOptions) {
    this.link = opts.link;
    this.certificate = opts.certificate;
    this.ice = opts.ice ?? generateIceCredentials();
    this.cname = opts.cname ?? `node-${randomBytes(4).toString('hex')}`;
    const e = opts.ext ?? {};
    this.ext = { transportCc: e.transportCc ?? 0, audioLevel: e.audioLevel ?? 0, mid: e.mid ?? 0, rid: e.rid ?? 0, repairedRid: e.repairedRid ?? 0 };
    this.answerNacks = opts.answerNacks ?? true;
    for (const s of opts.streams ?? []) {
      const st: SendState = {
        s,
        seq: randomBytes(2).readUInt16BE(0),
        timestamp: randomBytes(4).readUInt32BE(0),
        packets: 0,
        octets: 0,
        rtxSeq: randomBytes(2).readUInt16BE(0),
        history: this.answerNacks && s.rtxSsrc !== undefined ? new Array<Buffer | null>(HISTORY).fill(null) : null,
      };
      this.streams.set(s.key ?? s.kind, st);
      this.bySsrc.set(s.ssrc, st);
    }
    this.link.onDatagram = (buf) => this.onDatagram(buf);
  }

  /** The stream we send under this key (its kind unless keyed; throws if none: a caller bug). */
  stream(key: string): OutgoingStream {
    return this.sendState(key).s;
  }

  /** Next sequence number the stream `key` will use. */
  nextSeq(key: string): number {
    return this.sendState(key).seq;
  }

  /** ICE check until answered, then the DTLS handshake; resolves with the SRTP profile. */
  connect(remote: RemoteTransport, timeoutMs = 10_000): Promise<SrtpProfileName> {
    if (this.connecting) return this.connecting;
    this.remote = remote;
    this.state = 'connecting';
    this.connecting = new Promise<SrtpProfileName>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`connect timed out after ${timeoutMs} ms (ICE ${this.iceDone ? 'done' : 'unanswered'})`), timeoutMs);
      const done = () => clearTimeout(timer);
      this.settle = {
        resolve: (p) => (done(), resolve(p)),
        reject: (e) => (done(), reject(e)),
      };
    });
    this.dtls = new DtlsSession(remote.dtlsRole, this.certificate, remote.fingerprint, {
      send: (d) => this.state !== 'closed' && this.link.send(d),
      onConnected: (k) => this.onKeys(k),
      onFailed: (r) => this.fail(r),
    });
    this.sendCheck(true);
    this.checkTimer = setInterval(() => this.sendCheck(true), CHECK_RETRANSMIT_MS);
    return this.connecting;
  }

  /** Build one RTP packet of `kind` and SRTP-protect it without sending (a benchmark's input). */
  protectRtp(key: string, payload: Buffer, opts: SendOptions = {}): Buffer {
    const srtp = this.requireSrtp();
    const plain = this.buildRtp(this.sendState(key), payload, opts);
    const out = srtp.protectRtp(plain, plain.length);
    if (typeof out === 'string') throw new Error(`SRTP protect failed: ${out}`);
    this.counters.rtpSent++;
    return out;
  }

  /** Send one RTP packet; returns the sequence number it carried. */
  sendRtp(key: string, payload: Buffer, opts: SendOptions = {}): number {
    const st = this.sendState(key);
    const seq = st.seq;
    this.sendPlain(this.buildRtp(st, payload, opts));
    return seq;
  }

  /** Protect and send one plaintext RTP packet as given. */
  sendPlain(packet: Buffer): void {
    const out = this.requireSrtp().protectRtp(packet, packet.length);
    if (typeof out === 'string') throw new Error(`SRTP protect failed: ${out}`);
    this.link.send(out);
    this.counters.rtpSent++;
  }

  /** Protect and send one RTCP compound packet (RFC 3711 §3.4). */
  sendRtcp(packet: Buffer): void {
    const out = this.requireSrtp().protectRtcp(packet, packet.length);
    if (typeof out === 'string') throw new Error(`SRTCP protect failed: ${out}`);
    this.link.send(out);
    this.counters.rtcpSent++;
  }

  /** Generic NACK (RFC 4585 §6.2.1) for `mediaSsrc`. */
  sendNack(mediaSsrc: number, seqs: readonly number[]): void {
    this.sendRtcp(writeNack(this.rtcpSsrc, mediaSsrc, seqs));
  }

  /** PLI (RFC 4585 §6.3.1). */
  sendPli(mediaSsrc: number): void {
    this.sendRtcp(writePli(this.rtcpSsrc, mediaSsrc));
  }

  /**
   * SR + SDES CNAME compound (RFC 3550 §6.4.1, §6.1) for the stream of `kind`. By default the NTP time
   * is now and the RTP timestamp the last one sent; returns what was written.
   */
  sendSenderReport(key: string, at: { wallMs?: number; rtpTimestamp?: number } = {}): { ntpSec: number; ntpFrac: number; rtpTimestamp: number } {
    const st = this.sendState(key);
    const ntp = (at.wallMs ?? Date.now()) / 1000 + NTP_UNIX_OFFSET;
    const ntpSec = Math.floor(ntp);
    const ntpFrac = Math.floor((ntp - ntpSec) * 0x1_0000_0000) >>> 0;
    const rtpTimestamp = (at.rtpTimestamp ?? st.timestamp) >>> 0;
    const sr = writeSr({ ssrc: st.s.ssrc, ntpSec: ntpSec >>> 0, ntpFrac, rtpTimestamp, packetCount: st.packets >>> 0, octetCount: st.octets >>> 0 });
    this.sendRtcp(Buffer.concat([sr, writeSdesCname(st.s.ssrc, this.cname)]));
    return { ntpSec: ntpSec >>> 0, ntpFrac, rtpTimestamp };
  }

  /** Received RTCP packets of one type. */
  rtcpOf<T extends RtcpPacket['type']>(type: T): Extract<RtcpPacket, { type: T }>[] {
    return this.rtcp.filter((p): p is Extract<RtcpPacket, { type: T }> => p.type === type);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.fail('closed');
    this.state = 'closed';
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.consentTimer) clearInterval(this.consentTimer);
    this.dtls?.close();
    this.link.close();
  }

  private sendState(key: string): SendState {
    const st = this.streams.get(key);
    if (!st) throw new Error(`this peer sends no ${key}`);
    return st;
  }

  private requireSrtp(): SrtpSession {
    if (!this.srtpOut) throw new Error('not connected: no SRTP keys yet');
    return this.srtpOut;
  }

  private buildRtp(st: SendState, payload: Buffer, opts: SendOptions): Buffer {
    const ext = this.extWriter;
    ext.clear();
    if (this.ext.transportCc) ext.setTransportSeq(this.ext.transportCc, this.nextTransportSeq());
    if (st.s.kind === 'audio' && this.ext.audioLevel) ext.setAudioLevel(this.ext.audioLevel, true, opts.audioLevel ?? 30);
    if (this.ext.mid && st.s.mid !== undefined) ext.setMid(this.ext.mid, st.s.mid);
    if (this.ext.rid && st.s.rid !== undefined) ext.setMid(this.ext.rid, st.s.rid);
    if (opts.timestamp !== undefined) st.timestamp = opts.timestamp >>> 0;
    const out = Buffer.alloc(12 + ext.byteLength() + payload.length);
    const hl = writeRtpHeader(out, 0, { marker: opts.marker ?? false, payloadType: st.s.payloadType, sequenceNumber: st.seq, timestamp: st.timestamp, ssrc: st.s.ssrc }, ext);
    payload.copy(out, hl);
    if (st.history) st.history[st.seq & (HISTORY - 1)] = out;
    st.seq = (st.seq + 1) & 0xffff;
    st.packets++;
    st.octets += payload.length;
    return out;
  }

  private nextTransportSeq(): number {
    const s = this.transportSeq;
    this.transportSeq = (s + 1) & 0xffff;
    return s;
  }

  private sendCheck(useCandidate: boolean): void {
    const remote = this.remote;
    if (!remote || this.state === 'closed' || this.state === 'failed') return;
    const transactionId = randomBytes(12);
    // Bounded: a server that never answers must not make this grow.
    if (this.pendingChecks.size > 64) this.pendingChecks.clear();
    this.pendingChecks.add(transactionId.toString('hex'));
    // RFC 8445 §7.2.2: USERNAME is "<their ufrag>:<our ufrag>", keyed with their password.
    this.link.send(
      buildBindingRequest({ username: `${remote.iceUfrag}:${this.ice.ufrag}`, password: remote.icePwd, priority: CHECK_PRIORITY, controlling: true, tieBreaker: this.tieBreaker, useCandidate, transactionId }),
    );
  }

  private onDatagram(buf: Buffer): void {
    if (this.state === 'closed' || buf.length === 0) return;
    const b = buf[0];
    if (b <= 3) this.onStun(buf);
    else if (b >= 20 && b <= 63) {
      if (!this.dtls || !this.dtls.handle(buf)) this.drop('dtls');
    } else if (b >= 128 && b <= 191) this.onSrtp(buf);
    else this.drop('unknown_first_byte');
  }

  private onStun(buf: Buffer): void {
    const msg = parseStun(buf);
    if (typeof msg === 'string') return this.drop(msg);
    if (!this.pendingChecks.delete(msg.transactionId.toString('hex'))) return this.drop('stun_unsolicited');
    // RFC 8445 §7.2.5.2: a response must carry integrity with the password we used.
    if (!verifyFingerprint(buf, msg) || msg.integrityOffset < 0 || !verifyMessageIntegrity(buf, msg, this.remote!.icePwd)) return this.drop('stun_bad_integrity');
    if (msg.cls === 'error') return this.fail(`ICE check answered with error ${msg.errorCode}`);
    if (msg.cls !== 'success') return this.drop('stun_unexpected');
    this.counters.checksAnswered++;
    this.mappedAddress = msg.xorMappedAddress;
    if (this.iceDone) return;
    this.iceDone = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    this.consentTimer = setInterval(() => this.sendCheck(false), CONSENT_MS);
    this.consentTimer.unref();
    this.dtls!.start(); // a no-op in the server role: the other side sends the ClientHello
  }

  private onKeys(k: DtlsKeys): void {
    if (this.state !== 'connecting') return;
    this.srtpOut = new SrtpSession(k.profile, k.localKey, k.localSalt);
    this.srtpIn = new SrtpSession(k.profile, k.remoteKey, k.remoteSalt);
    this.srtpProfile = k.profile;
    this.state = 'connected';
    this.settle?.resolve(k.profile);
    this.settle = null;
  }

  private fail(reason: string): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    if (this.state === 'connecting') this.state = 'failed';
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    this.settle?.reject(new Error(`peer ${this.cname}: ${reason}`));
    this.settle = null;
  }

  private onSrtp(buf: Buffer): void {
    const srtp = this.srtpIn;
    if (!srtp) return this.drop('srtp_not_ready');
    // RFC 5761 §4: payload types 64–95 (192–223 with the marker bit) are RTCP.
    const pt = buf[1];
    if (pt >= 192 && pt <= 223) {
      const n = srtp.unprotectRtcp(buf, buf.length);
      if (typeof n !== 'number') return this.drop(n);
      const list: RtcpPacket[] = [];
      if (parseRtcp(buf, n, list) !== null) return this.drop('rtcp_malformed');
      this.counters.rtcpReceived++;
      for (const p of list) {
        this.rtcp.push(p);
        if (this.rtcp.length > MAX_RTCP_KEPT) this.rtcp.splice(0, this.rtcp.length - MAX_RTCP_KEPT);
        if (p.type === 'nack') this.retransmit(p);
        this.onRtcp(p);
      }
      return;
    }
    if (this.onProtectedRtp?.(buf)) return;
    const n = srtp.unprotectRtp(buf, buf.length);
    if (typeof n !== 'number') return this.drop(n);
    const v = this.view;
    const bad = v.parse(buf, n);
    if (bad !== null) return this.drop(bad);
    this.counters.rtpReceived++;
    let r = this.received.get(v.ssrc);
    if (!r) this.received.set(v.ssrc, (r = { packets: 0, bytes: 0, firstSeq: v.sequenceNumber, lastSeq: v.sequenceNumber, payloadType: v.payloadType }));
    r.packets++;
    r.bytes += v.payloadLength;
    r.lastSeq = v.sequenceNumber;
    this.onRtp(v);
  }

  /** RFC 4588 §4: RTX packet = fresh header on the RTX SSRC, OSN, original payload. */
  private retransmit(nack: NackPacket): void {
    const st = this.bySsrc.get(nack.mediaSsrc);
    if (!st || !st.history || st.s.rtxSsrc === undefined || st.s.rtxPayloadType === undefined || !this.srtpOut) return;
    for (const seq of nack.seqs) {
      const original = st.history[seq & (HISTORY - 1)];
      if (!original || original.readUInt16BE(2) !== seq || this.historyView.parse(original) !== null) continue;
      const ext = this.extWriter;
      ext.clear();
      if (this.ext.transportCc) ext.setTransportSeq(this.ext.transportCc, this.nextTransportSeq());
      if (this.ext.mid && st.s.mid !== undefined) ext.setMid(this.ext.mid, st.s.mid);
      // RFC 8852 §3.2: RTX of a simulcast layer names the layer it repairs.
      if (this.ext.repairedRid && st.s.rid !== undefined) ext.setMid(this.ext.repairedRid, st.s.rid);
      const out = Buffer.alloc(original.length + 2 + 40);
      const len = writeRtx(out, 0, this.historyView, { payloadType: st.s.rtxPayloadType, sequenceNumber: st.rtxSeq, ssrc: st.s.rtxSsrc }, ext);
      st.rtxSeq = (st.rtxSeq + 1) & 0xffff;
      if (len < 0) continue;
      this.sendPlain(out.subarray(0, len));
      this.counters.rtxSent++;
    }
  }

  private drop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }
}
