/**
 * IV builders. They write into a caller-owned scratch buffer so the packet path allocates nothing;
 * createCipheriv copies the IV, so the scratch may be reused right after.
 */

const TWO_32 = 0x1_0000_0000;

/**
 * AES-CM IV (RFC 3711 §4.1.1): (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), 16 octets.
 * `index` is the 48-bit packet index (SRTP) or the 31-bit SRTCP index.
 */
export function writeCmIv(out: Buffer, salt: Buffer, ssrc: number, index: number): void {
  salt.copy(out, 0, 0, 14);
  out[14] = 0;
  out[15] = 0;
  out.writeUInt32BE((out.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const hi = Math.floor(index / TWO_32);
  out.writeUInt16BE(out.readUInt16BE(8) ^ (hi & 0xffff), 8);
  out.writeUInt32BE((out.readUInt32BE(10) ^ index) >>> 0, 10); // `^` takes index mod 2^32
}

/** GCM SRTP IV (RFC 7714 §8.1): (00 00 || SSRC || ROC || SEQ) XOR salt, 12 octets. */
export function writeGcmRtpIv(out: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): void {
  out.writeUInt16BE(salt.readUInt16BE(0), 0);
  out.writeUInt32BE((salt.readUInt32BE(2) ^ ssrc) >>> 0, 2);
  out.writeUInt32BE((salt.readUInt32BE(6) ^ roc) >>> 0, 6);
  out.writeUInt16BE(salt.readUInt16BE(10) ^ seq, 10);
}

/** GCM SRTCP IV (RFC 7714 §9.1): (00 00 || SSRC || 00 00 || 0 || index31) XOR salt, 12 octets. */
export function writeGcmRtcpIv(out: Buffer, salt: Buffer, ssrc: number, index: number): void {
  out.writeUInt16BE(salt.readUInt16BE(0), 0);
  out.writeUInt32BE((salt.readUInt32BE(2) ^ ssrc) >>> 0, 2);
  out.writeUInt16BE(salt.readUInt16BE(6), 6);
  out.writeUInt32BE((salt.readUInt32BE(8) ^ (index & 0x7fffffff)) >>> 0, 8);
}
