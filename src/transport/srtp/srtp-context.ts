import type { DropReason } from '../../metrics/drop-reasons.ts';
import type { SrtpSessionKeys } from './srtp-kdf.ts';
import type { SrtpProfileName } from './srtp-profile.ts';
import type { SrtpTransform } from './srtp-transform.ts';
import { CmTransform } from './cm-transform.ts';
import { GcmTransform } from './gcm-transform.ts';
import { REPLAY_DUPLICATE, REPLAY_OK, ReplayWindow } from './replay-window.ts';
import { estimateRtpIndex, rtpHeaderLength } from './rtp-index.ts';
import { KeystreamWindow, LITTLE_ENDIAN } from './keystream.ts';

export interface SrtpContextOptions {
  /** Replay window in packets for SRTP and SRTCP, per SSRC (RFC 3711 §3.3.2 minimum 64). Default 128. */
  replayWindow?: number;
  /** Receive-side SSRC bound (a peer chooses these SSRCs). Default 64. */
  maxSsrcs?: number;
  /** Send-side SSRC bound (we choose these; a leak guard only). Default 4096. */
  maxSendSsrcs?: number;
  /**
   * Make RTP's keystream ahead, 16 packets per AES call (keystream.ts), for the profiles that use it
   * (AES-CM). Default true on little-endian hosts; false gives the per-packet keystream (the same bytes on
   * the wire), for tests and the throughput bench.
   */
  keystreamAhead?: boolean;
}

/** Per-SSRC receive state: the window's `top` is the highest authenticated index (ROC||s_l). */
interface RecvState {
  window: ReplayWindow;
  lastUse: number;
  /** Keystream made ahead for the next indices (RTP only). */
  keystream: KeystreamWindow | null;
}

/** Per-SSRC send state: highest index sent, for the sender-side ROC (RFC 3711 §3.3.1); keystream made ahead. */
interface SendState {
  highest: number;
  lastUse: number;
  keystream: KeystreamWindow | null;
}

/** Highest valid SRTP index: 48 bits (RFC 3711 §3.3.1). */
const MAX_INDEX = 2 ** 48 - 1;

/**
 * Evict the least recently used entry. Only runs when a new SSRC arrives at the bound, so the
 * O(n) scan is off the steady-state path. An evicted stream that comes back restarts at ROC 0;
 * LRU keeps that to idle streams. We evict rather than refuse so a long session whose peer
 * cycles SSRCs (renegotiation, simulcast restarts) keeps working.
 */
function evictOldest(map: Map<number, { lastUse: number }>): void {
  let oldestKey = -1;
  let oldest = Infinity;
  for (const [k, v] of map) {
    if (v.lastUse < oldest) {
      oldest = v.lastUse;
      oldestKey = k;
    }
  }
  map.delete(oldestKey);
}

/**
 * One direction of SRTP/SRTCP for one transport, serving every SSRC in it, keyed with session
 * keys. Packet methods never throw and never await; failures return a DropReason and leave
 * every piece of state untouched.
 */
export class SrtpContext {
  readonly profile: SrtpProfileName;
  private readonly t: SrtpTransform;
  private readonly tag: number;
  private readonly windowSize: number;
  private readonly maxSsrcs: number;
  private readonly maxSendSsrcs: number;
  private readonly keystreamAhead: boolean;
  private readonly send = new Map<number, SendState>();
  private readonly recv = new Map<number, RecvState>();
  private readonly rtcpRecv = new Map<number, RecvState>();
  /** SRTCP index, one counter for all SSRCs we send: strictly increasing per SSRC (RFC 3711 §3.4). */
  private rtcpIndex = 0;
  private tick = 0;

  constructor(profile: SrtpProfileName, keys: SrtpSessionKeys, opts: SrtpContextOptions = {}) {
    this.profile = profile;
    this.t = profile === 'AEAD_AES_128_GCM' ? new GcmTransform(keys) : new CmTransform(keys);
    this.tag = this.t.tagLength;
    this.windowSize = opts.replayWindow ?? 128;
    this.maxSsrcs = opts.maxSsrcs ?? 64;
    this.maxSendSsrcs = opts.maxSendSsrcs ?? 4096;
    this.keystreamAhead = (opts.keystreamAhead ?? true) && this.t.keystreamAhead && LITTLE_ENDIAN;
    new ReplayWindow(this.windowSize); // validate the size once, here, not on the packet path
  }

  /** Number of SSRCs with receive state (RTP, RTCP); for tests and metrics. */
  get ssrcCounts(): { send: number; rtp: number; rtcp: number } {
    return { send: this.send.size, rtp: this.recv.size, rtcp: this.rtcpRecv.size };
  }

  protectRtp(buf: Buffer, length: number): Buffer | DropReason {
    if (length > buf.length) return 'srtp_malformed';
    const hl = rtpHeaderLength(buf, length);
    if (hl < 0) return 'srtp_malformed';
    const seq = buf.readUInt16BE(2);
    const ssrc = buf.readUInt32BE(8);
    let st = this.send.get(ssrc);
    let index = seq;
    if (st !== undefined) {
      index = estimateRtpIndex(st.highest, seq);
      if (index < 0) return 'srtp_too_old';
      if (index > MAX_INDEX) return 'srtp_malformed'; // RFC 3711 §9.2: rekey before 2^48
    } else {
      if (this.send.size >= this.maxSendSsrcs) evictOldest(this.send);
      st = { highest: seq, lastUse: 0, keystream: this.keystreamAhead ? new KeystreamWindow() : null };
      this.send.set(ssrc, st);
    }
    if (index > st.highest) st.highest = index;
    st.lastUse = ++this.tick;
    return this.t.protectRtp(buf, length, hl, ssrc, index, st.keystream);
  }

  unprotectRtp(buf: Buffer, length: number): number | DropReason {
    if (length > buf.length) return 'srtp_malformed';
    const hl = rtpHeaderLength(buf, length);
    if (hl < 0 || length < hl + this.tag) return 'srtp_malformed';
    const seq = buf.readUInt16BE(2);
    const ssrc = buf.readUInt32BE(8);
    let st = this.recv.get(ssrc);
    let index = seq; // first sight: ROC = 0, s_l = SEQ (RFC 3711 §3.3.1)
    if (st !== undefined) {
      index = estimateRtpIndex(st.window.top, seq);
      if (index < 0) return 'srtp_too_old';
      if (index > MAX_INDEX) return 'srtp_malformed';
      const verdict = st.window.check(index);
      if (verdict !== REPLAY_OK) return verdict === REPLAY_DUPLICATE ? 'srtp_replayed' : 'srtp_too_old';
    }
    if (!this.t.unprotectRtp(buf, length, hl, ssrc, index, st === undefined ? null : st.keystream)) return 'srtp_auth_failed';
    if (st === undefined) st = this.addRecv(this.recv, ssrc, this.keystreamAhead);
    st.window.accept(index); // RFC 3711 §3.3 step 6: update ROC/s_l and window only after auth
    st.lastUse = ++this.tick;
    return length - this.tag;
  }

  protectRtcp(buf: Buffer, length: number): Buffer | DropReason {
    if (length < 8 || length > buf.length || buf[0] >>> 6 !== 2) return 'srtp_malformed';
    const index = this.rtcpIndex;
    // 31-bit index (RFC 3711 §3.4); wrapping would reuse IVs, so keys must be renewed before it.
    this.rtcpIndex = (index + 1) & 0x7fffffff;
    return this.t.protectRtcp(buf, length, buf.readUInt32BE(4), index);
  }

  unprotectRtcp(buf: Buffer, length: number): number | DropReason {
    if (length > buf.length || length < 8 + 4 + this.tag || buf[0] >>> 6 !== 2) return 'srtcp_malformed';
    const ssrc = buf.readUInt32BE(4);
    const eIndex = buf.readUInt32BE(this.t.rtcpIndexOffset(length));
    const index = eIndex & 0x7fffffff;
    let st = this.rtcpRecv.get(ssrc);
    // Per-SSRC window: peers like libsrtp keep one SRTCP index per SSRC.
    if (st !== undefined) {
      const r = st.window.check(index);
      if (r === REPLAY_DUPLICATE) return 'srtcp_replayed';
      if (r !== REPLAY_OK) return 'srtcp_too_old';
    }
    if (!this.t.unprotectRtcp(buf, length, ssrc, eIndex)) return 'srtcp_auth_failed';
    if (st === undefined) st = this.addRecv(this.rtcpRecv, ssrc, false);
    st.window.accept(index);
    st.lastUse = ++this.tick;
    return length - this.tag - 4;
  }

  private addRecv(map: Map<number, RecvState>, ssrc: number, keystream: boolean): RecvState {
    if (map.size >= this.maxSsrcs) evictOldest(map);
    const st: RecvState = { window: new ReplayWindow(this.windowSize), lastUse: 0, keystream: keystream ? new KeystreamWindow() : null };
    map.set(ssrc, st);
    return st;
  }
}
