/**
 * STUN message parser and checksum verifiers (RFC 8489, which obsoletes RFC 5389), limited to what
 * ICE needs. Packet path: never throws; a malformed message yields 'stun_malformed'.
 * Builders live in stun-builder.ts and are re-exported here.
 */
import { timingSafeEqual } from 'node:crypto';
import type { DropReason } from '../../metrics/drop-reasons.ts';
import { computeFingerprint, computeIntegrity } from './stun-integrity.ts';
import { decodeXorAddress, type TransportAddress } from './xor-address.ts';
import {
  ATTR,
  KNOWN_REQUIRED,
  MAGIC_COOKIE,
  STUN_HEADER_LENGTH,
  decodeClass,
  decodeMethod,
  isComprehensionRequired,
  pad4,
  type StunClass,
} from './stun-constants.ts';

export { buildBindingError, buildBindingRequest, buildBindingSuccess, encodeStunMessage } from './stun-builder.ts';
export type { BindingRequestOptions, EncodeOptions, StunAttribute } from './stun-builder.ts';
export type { TransportAddress } from './xor-address.ts';
export type { StunClass } from './stun-constants.ts';

export interface StunMessage {
  method: number;
  cls: StunClass;
  /** 12 bytes; a view into the parsed buffer. */
  transactionId: Buffer;
  /** Total bytes (header + attributes). */
  length: number;
  username: string | null;
  priority: number | null;
  useCandidate: boolean;
  iceControlling: bigint | null;
  iceControlled: bigint | null;
  /** Offset of the MESSAGE-INTEGRITY attribute header, -1 if absent. */
  integrityOffset: number;
  /** Offset of the FINGERPRINT attribute header, -1 if absent. */
  fingerprintOffset: number;
  xorMappedAddress: TransportAddress | null;
  errorCode: number | null;
  /** Comprehension-required attribute types we do not understand (RFC 8489 §6.3.1: answer 420). */
  unknownRequired: number[];
}

/** RFC 5389 §15.3: USERNAME is fewer than 513 bytes. */
const MAX_USERNAME = 512;

/** Parse one STUN message occupying exactly `buf[0, length)` (a whole UDP datagram). */
export function parseStun(buf: Buffer, length: number = buf.length): StunMessage | DropReason {
  if (!Number.isInteger(length) || length < STUN_HEADER_LENGTH || length > buf.length) return 'stun_malformed';
  // §5: the two most significant bits are zero; the length excludes the header and is a multiple of 4.
  if ((buf[0] & 0xc0) !== 0) return 'stun_malformed';
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return 'stun_malformed';
  const bodyLen = buf.readUInt16BE(2);
  if (bodyLen % 4 !== 0 || STUN_HEADER_LENGTH + bodyLen !== length) return 'stun_malformed';
  const type = buf.readUInt16BE(0);
  const msg: StunMessage = {
    method: decodeMethod(type),
    cls: decodeClass(type),
    transactionId: buf.subarray(8, 20),
    length,
    username: null,
    priority: null,
    useCandidate: false,
    iceControlling: null,
    iceControlled: null,
    integrityOffset: -1,
    fingerprintOffset: -1,
    xorMappedAddress: null,
    errorCode: null,
    unknownRequired: [],
  };
  let off = STUN_HEADER_LENGTH;
  while (off < length) {
    if (off + 4 > length) return 'stun_malformed';
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    const next = off + 4 + pad4(len);
    if (next > length) return 'stun_malformed';
    // §14.7: FINGERPRINT is the last attribute.
    if (msg.fingerprintOffset >= 0) return 'stun_malformed';
    const v = buf.subarray(off + 4, off + 4 + len);
    // §14.5: anything after MESSAGE-INTEGRITY except FINGERPRINT is ignored.
    if (msg.integrityOffset < 0 || t === ATTR.FINGERPRINT) {
      if (!readAttribute(msg, t, v, off)) return 'stun_malformed';
    }
    off = next;
  }
  return msg;
}

/** Fills one attribute into `msg`; false if its value is malformed. §14: only the first of a type counts. */
function readAttribute(msg: StunMessage, t: number, v: Buffer, off: number): boolean {
  switch (t) {
    case ATTR.USERNAME:
      if (v.length > MAX_USERNAME) return false;
      msg.username ??= v.toString('utf8');
      return true;
    case ATTR.PRIORITY:
      if (v.length !== 4) return false;
      msg.priority ??= v.readUInt32BE(0);
      return true;
    case ATTR.USE_CANDIDATE:
      if (v.length !== 0) return false;
      msg.useCandidate = true;
      return true;
    case ATTR.ICE_CONTROLLING:
      if (v.length !== 8) return false;
      msg.iceControlling ??= v.readBigUInt64BE(0);
      return true;
    case ATTR.ICE_CONTROLLED:
      if (v.length !== 8) return false;
      msg.iceControlled ??= v.readBigUInt64BE(0);
      return true;
    case ATTR.MESSAGE_INTEGRITY:
      if (v.length !== 20) return false;
      msg.integrityOffset = off;
      return true;
    case ATTR.FINGERPRINT:
      if (v.length !== 4) return false;
      msg.fingerprintOffset = off;
      return true;
    case ATTR.XOR_MAPPED_ADDRESS: {
      const a = decodeXorAddress(v, msg.transactionId);
      if (!a) return false;
      msg.xorMappedAddress ??= a;
      return true;
    }
    case ATTR.ERROR_CODE: {
      // §14.8: class 3..6 in the low 3 bits of byte 2, number 0..99 in byte 3.
      if (v.length < 4) return false;
      const cls = v[2] & 0x07;
      const num = v[3];
      if (cls < 3 || cls > 6 || num > 99) return false;
      msg.errorCode ??= cls * 100 + num;
      return true;
    }
    default:
      if (isComprehensionRequired(t) && !KNOWN_REQUIRED.has(t) && !msg.unknownRequired.includes(t)) {
        msg.unknownRequired.push(t);
      }
      return true;
  }
}

/** RFC 8489 §14.5 check of MESSAGE-INTEGRITY (HMAC-SHA1) with the short-term key (the ICE password). */
export function verifyMessageIntegrity(buf: Buffer, msg: StunMessage, key: Buffer | string): boolean {
  const off = msg.integrityOffset;
  if (off < STUN_HEADER_LENGTH || off + 24 > buf.length) return false;
  return timingSafeEqual(computeIntegrity(buf, off, key), buf.subarray(off + 4, off + 24));
}

/** RFC 8489 §14.7 check of FINGERPRINT (CRC-32 of the preceding bytes XOR 0x5354554e). */
export function verifyFingerprint(buf: Buffer, msg: StunMessage): boolean {
  const off = msg.fingerprintOffset;
  if (off < STUN_HEADER_LENGTH || off + 8 > buf.length) return false;
  return computeFingerprint(buf, off) === buf.readUInt32BE(off + 4);
}
