import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { DropReason } from '../../metrics/drop-reasons.ts';

/**
 * The relay datagram between SFU nodes (README.md in this folder has the table):
 *
 *   0       version = 1
 *   1       type (RELAY_RTP … RELAY_CONTROL)
 *   2..3    flags, reserved: sent as 0, ignored on receipt (authenticated as part of the AAD)
 *   4..7    senderNum    u32   FNV-1a 32 of the sending node's id
 *   8..15   counter      u64   per sending direction, from 1 (big-endian)
 *   16..19  originNum    u32   the node where the track was published (0 for PING/PONG/CONTROL)
 *   20..23  streamId     u32   assigned by the origin; (originNum, streamId) names one RTP stream
 *   24..    AES-128-GCM ciphertext of the payload, then the 16-byte tag
 *
 * The 24-byte header is the AAD; the 12-byte nonce is senderNum || counter, i.e. header bytes 4..15.
 */
export const RELAY_VERSION = 1;
export const RELAY_HEADER_LENGTH = 24;
export const RELAY_TAG_LENGTH = 16;
/** Bytes a relay datagram adds to its payload. */
export const RELAY_OVERHEAD = RELAY_HEADER_LENGTH + RELAY_TAG_LENGTH;
export const RELAY_NONCE_LENGTH = 12;

export const RELAY_RTP = 1;
export const RELAY_RTCP = 2;
export const RELAY_PING = 3;
export const RELAY_PONG = 4;
export const RELAY_CONTROL = 5;
export type RelayType = typeof RELAY_RTP | typeof RELAY_RTCP | typeof RELAY_PING | typeof RELAY_PONG | typeof RELAY_CONTROL;

/** PING/PONG payload: the pinger's clock time (float64 ms) then its ping id (u32). A PONG echoes it. */
export const RELAY_PING_PAYLOAD = 12;

/**
 * Counters are u64 on the wire but JS numbers here: a sender never goes past 2^53 − 1 (at a million
 * datagrams a second that is 285 years), and a receiver treats a counter beyond it as malformed.
 */
export const RELAY_MAX_COUNTER = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;
/** Highest high word of a counter ≤ 2^53 − 1. */
const MAX_COUNTER_HI = 0x1f_ffff;

const TAG_OPTS = { authTagLength: RELAY_TAG_LENGTH } as const;

/** FNV-1a 32-bit of the UTF-8 bytes of a node id: the node's number on the wire (control plane, not per packet). */
export function nodeNumOf(id: string): number {
  const bytes = Buffer.from(id, 'utf8');
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function isRelayType(t: number): t is RelayType {
  return t >= RELAY_RTP && t <= RELAY_CONTROL;
}

/** Write the 24-byte header at buf[0..24). `counter` is 1..2^53 − 1. */
export function writeRelayHeader(buf: Buffer, type: RelayType, senderNum: number, counter: number, originNum: number, streamId: number): void {
  buf[0] = RELAY_VERSION;
  buf[1] = type;
  buf[2] = 0;
  buf[3] = 0;
  buf.writeUInt32BE(senderNum >>> 0, 4);
  buf.writeUInt32BE(Math.floor(counter / TWO_32), 8);
  buf.writeUInt32BE(counter >>> 0, 12);
  buf.writeUInt32BE(originNum >>> 0, 16);
  buf.writeUInt32BE(streamId >>> 0, 20);
}

/**
 * The header of one received datagram, parsed once into a reused object (no allocation). `parse` checks
 * what can be checked before decryption; the fields are valid only when it returned null.
 */
export class RelayHeaderView {
  version = 0;
  type = 0;
  flags = 0;
  senderNum = 0;
  counter = 0;
  originNum = 0;
  streamId = 0;
  /** Payload length (ciphertext = plaintext length). */
  payloadLength = 0;

  parse(buf: Buffer, length: number): DropReason | null {
    if (length < RELAY_OVERHEAD || length > buf.length) return 'relay_truncated';
    this.version = buf[0];
    if (this.version !== RELAY_VERSION) return 'relay_bad_version';
    this.type = buf[1];
    this.flags = buf.readUInt16BE(2);
    this.senderNum = buf.readUInt32BE(4);
    const hi = buf.readUInt32BE(8);
    const lo = buf.readUInt32BE(12);
    if (hi > MAX_COUNTER_HI || (hi === 0 && lo === 0)) return 'relay_bad_counter';
    this.counter = hi * TWO_32 + lo;
    this.originNum = buf.readUInt32BE(16);
    this.streamId = buf.readUInt32BE(20);
    this.payloadLength = length - RELAY_OVERHEAD;
    return null;
  }
}

/**
 * Encrypt `payload[offset, offset + length)` into out[24..) and append the tag; the header must already be
 * at out[0..24). `aad` is a view of out[0..24) and `nonce` one of out[4..16) (callers keep such views
 * preallocated per buffer). Returns the datagram length. As in src/transport/srtp/gcm-transform.ts, a
 * cipher object per packet is what node:crypto allows; everything else is the caller's reused memory.
 */
export function sealRelay(out: Buffer, aad: Buffer, nonce: Buffer, key: Buffer, payload: Buffer, offset: number, length: number): number {
  const c = createCipheriv('aes-128-gcm', key, nonce, TAG_OPTS);
  c.setAAD(aad);
  if (length > 0) {
    const plain = offset === 0 && length === payload.length ? payload : payload.subarray(offset, offset + length);
    c.update(plain).copy(out, RELAY_HEADER_LENGTH);
  }
  c.final();
  c.getAuthTag().copy(out, RELAY_HEADER_LENGTH + length);
  return RELAY_OVERHEAD + length;
}

/**
 * Authenticate and decrypt a received datagram of `length` bytes in place: on success the plaintext is at
 * buf[24, length − 16). `nonce` (12 bytes) and `aad` (24 bytes) are the caller's scratch buffers. Returns
 * false (buf untouched) when the tag does not verify. The caller has checked length ≥ RELAY_OVERHEAD.
 */
export function openRelay(buf: Buffer, length: number, key: Buffer, nonce: Buffer, aad: Buffer): boolean {
  buf.copy(aad, 0, 0, RELAY_HEADER_LENGTH);
  buf.copy(nonce, 0, 4, 16);
  const end = length - RELAY_TAG_LENGTH;
  const d = createDecipheriv('aes-128-gcm', key, nonce, TAG_OPTS);
  d.setAAD(aad);
  d.setAuthTag(buf.subarray(end, length));
  const plain = end > RELAY_HEADER_LENGTH ? d.update(buf.subarray(RELAY_HEADER_LENGTH, end)) : null;
  try {
    d.final(); // throws on a tag mismatch; the plaintext is written back only after it passes
  } catch {
    return false;
  }
  if (plain !== null) plain.copy(buf, RELAY_HEADER_LENGTH);
  return true;
}
