/** The two STUN checksums, shared by the parser's verifiers and the builders. */
import { createHmac } from 'node:crypto';
import { crc32 } from './crc32.ts';
import { FINGERPRINT_XOR, STUN_HEADER_LENGTH } from './stun-constants.ts';

/**
 * HMAC-SHA1 for a MESSAGE-INTEGRITY attribute whose header starts at `miOffset` (RFC 8489 §14.5):
 * it covers the message before the attribute, with the header's length field set as if the message
 * ended right after MESSAGE-INTEGRITY (so a later FINGERPRINT does not change it).
 * For ICE short-term credentials the key is the password's UTF-8 bytes (RFC 8445 §7.2.2, §16.4).
 */
export function computeIntegrity(buf: Uint8Array, miOffset: number, key: Buffer | string): Buffer {
  const header = Buffer.from(buf.subarray(0, STUN_HEADER_LENGTH));
  header.writeUInt16BE(miOffset + 24 - STUN_HEADER_LENGTH, 2);
  return createHmac('sha1', key).update(header).update(buf.subarray(STUN_HEADER_LENGTH, miOffset)).digest();
}

/** FINGERPRINT value for an attribute whose header starts at `fpOffset` (RFC 8489 §14.7). */
export function computeFingerprint(buf: Uint8Array, fpOffset: number): number {
  return (crc32(buf, 0, fpOffset) ^ FINGERPRINT_XOR) >>> 0;
}
