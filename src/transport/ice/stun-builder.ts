/**
 * Builds STUN messages (RFC 8489 §5, §14) for the ICE server role (Binding responses) and for our own
 * client role (Binding requests from the load generator and tests).
 */
import { randomBytes } from 'node:crypto';
import { computeFingerprint, computeIntegrity } from './stun-integrity.ts';
import { encodeXorAddress, type TransportAddress } from './xor-address.ts';
import {
  ATTR,
  MAGIC_COOKIE,
  METHOD_BINDING,
  STUN_HEADER_LENGTH,
  encodeMessageType,
  pad4,
  type StunClass,
} from './stun-constants.ts';

export type StunAttribute = readonly [type: number, value: Uint8Array];

export interface EncodeOptions {
  /** Adds MESSAGE-INTEGRITY keyed with this (the ICE password). */
  integrityKey?: Buffer | string;
  /** Adds FINGERPRINT; ICE connectivity checks carry it (RFC 8445 §7). Default true. */
  fingerprint?: boolean;
}

/** Header + attributes (zero padded) + optional MESSAGE-INTEGRITY + optional FINGERPRINT. */
export function encodeStunMessage(
  method: number,
  cls: StunClass,
  transactionId: Uint8Array,
  attrs: readonly StunAttribute[],
  opts: EncodeOptions = {},
): Buffer {
  const withFp = opts.fingerprint ?? true;
  let bodyLen = 0;
  for (const [, v] of attrs) bodyLen += 4 + pad4(v.length);
  const miOffset = STUN_HEADER_LENGTH + bodyLen;
  const fpOffset = miOffset + (opts.integrityKey !== undefined ? 24 : 0);
  const total = fpOffset + (withFp ? 8 : 0);
  const buf = Buffer.alloc(total);
  buf.writeUInt16BE(encodeMessageType(method, cls), 0);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  buf.set(transactionId.subarray(0, 12), 8);
  let off = STUN_HEADER_LENGTH;
  for (const [t, v] of attrs) {
    buf.writeUInt16BE(t, off);
    buf.writeUInt16BE(v.length, off + 2);
    buf.set(v, off + 4);
    off += 4 + pad4(v.length);
  }
  if (opts.integrityKey !== undefined) {
    buf.writeUInt16BE(ATTR.MESSAGE_INTEGRITY, miOffset);
    buf.writeUInt16BE(20, miOffset + 2);
    computeIntegrity(buf, miOffset, opts.integrityKey).copy(buf, miOffset + 4);
  }
  buf.writeUInt16BE(total - STUN_HEADER_LENGTH, 2);
  if (withFp) {
    buf.writeUInt16BE(ATTR.FINGERPRINT, fpOffset);
    buf.writeUInt16BE(4, fpOffset + 2);
    buf.writeUInt32BE(computeFingerprint(buf, fpOffset), fpOffset + 4);
  }
  return buf;
}

/**
 * Binding success with XOR-MAPPED-ADDRESS = the request's source, integrity-protected with our
 * password (RFC 8445 §7.3.1.4). Throws RangeError if `mapped` is not a valid address literal: the
 * packet path calls `encodeXorAddress` itself and drops instead.
 */
export function buildBindingSuccess(transactionId: Uint8Array, mapped: TransportAddress, password: string): Buffer {
  const xor = encodeXorAddress(mapped, transactionId);
  if (!xor) throw new RangeError(`not an IPv${mapped.family} address/port: ${mapped.address}:${mapped.port}`);
  return encodeStunMessage(METHOD_BINDING, 'success', transactionId, [[ATTR.XOR_MAPPED_ADDRESS, xor]], {
    integrityKey: password,
  });
}

/**
 * Binding error response with ERROR-CODE (RFC 8489 §14.8), e.g. 400, 401, 420, 487.
 * `unknownAttributes` fills UNKNOWN-ATTRIBUTES for a 420 (RFC 8489 §14.13).
 * Throws RangeError for a code outside 300..699 (a programming error).
 */
export function buildBindingError(
  transactionId: Uint8Array,
  code: number,
  reason: string,
  password?: string,
  unknownAttributes: readonly number[] = [],
): Buffer {
  if (!Number.isInteger(code) || code < 300 || code > 699) throw new RangeError(`bad STUN error code ${code}`);
  // §14.8: the reason phrase is fewer than 128 characters.
  const phrase = Buffer.from([...reason].slice(0, 127).join(''), 'utf8');
  const ec = Buffer.alloc(4 + phrase.length);
  ec[2] = Math.floor(code / 100);
  ec[3] = code % 100;
  phrase.copy(ec, 4);
  const attrs: StunAttribute[] = [[ATTR.ERROR_CODE, ec]];
  if (unknownAttributes.length > 0) {
    const ua = Buffer.alloc(unknownAttributes.length * 2);
    unknownAttributes.forEach((t, i) => ua.writeUInt16BE(t & 0xffff, i * 2));
    attrs.push([ATTR.UNKNOWN_ATTRIBUTES, ua]);
  }
  return encodeStunMessage(METHOD_BINDING, 'error', transactionId, attrs, { integrityKey: password });
}

export interface BindingRequestOptions {
  /** "<their ufrag>:<our ufrag>" as the receiver expects it (RFC 8445 §7.2.2). */
  username: string;
  /** The receiver's ICE password. */
  password: string;
  priority: number;
  controlling: boolean;
  tieBreaker: bigint;
  /** Only meaningful for the controlling agent (RFC 8445 §7.2.2, §8.1.1). */
  useCandidate: boolean;
  transactionId?: Buffer;
}

/** An ICE connectivity check (RFC 8445 §7.2.2), for our client role. Throws on out-of-range numbers. */
export function buildBindingRequest(opts: BindingRequestOptions): Buffer {
  const txId = opts.transactionId ?? randomBytes(12);
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(opts.priority, 0);
  const tie = Buffer.alloc(8);
  tie.writeBigUInt64BE(opts.tieBreaker, 0);
  const attrs: StunAttribute[] = [
    [ATTR.USERNAME, Buffer.from(opts.username, 'utf8')],
    [ATTR.PRIORITY, priority],
    [opts.controlling ? ATTR.ICE_CONTROLLING : ATTR.ICE_CONTROLLED, tie],
  ];
  if (opts.useCandidate) attrs.push([ATTR.USE_CANDIDATE, Buffer.alloc(0)]);
  return encodeStunMessage(METHOD_BINDING, 'request', txId, attrs, { integrityKey: opts.password });
}
