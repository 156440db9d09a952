import { createCipheriv } from 'node:crypto';
import type { SrtpProfileName } from './srtp-profile.ts';
import { srtpKeyLengths } from './srtp-profile.ts';

/** KDF labels, RFC 3711 §4.3.1 and §4.3.2. */
export const SRTP_LABEL = {
  rtpEncryption: 0,
  rtpAuth: 1,
  rtpSalt: 2,
  rtcpEncryption: 3,
  rtcpAuth: 4,
  rtcpSalt: 5,
} as const;

/** Session keys of one direction. Auth keys are empty for AEAD profiles (RFC 7714 §11). */
export interface SrtpSessionKeys {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  rtpAuthKey: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  rtcpAuthKey: Buffer;
}

/** AES-128 counter-mode keystream starting at counter block `iv` (RFC 3711 §4.1.1). */
export function aesCmKeystream(key: Buffer, iv: Buffer, length: number): Buffer {
  const c = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

/**
 * AES-CM PRF key derivation with key_derivation_rate 0 (RFC 3711 §4.3.1, §4.3.3):
 * x = label (at octet 7) XOR master salt, IV = x * 2^16. A 12-octet GCM master salt is
 * zero-padded on the right to 14 octets (RFC 7714 §11 reuses this KDF), as libsrtp does.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, Math.min(14, masterSalt.length));
  iv[7] ^= label;
  return aesCmKeystream(masterKey, iv, length);
}

/** All six session keys of one direction (RFC 3711 §4.3.2). */
export function deriveSrtpSessionKeys(profile: SrtpProfileName, masterKey: Buffer, masterSalt: Buffer): SrtpSessionKeys {
  const { keyLength, saltLength } = srtpKeyLengths(profile);
  if (masterKey.length !== keyLength || masterSalt.length !== saltLength) {
    throw new RangeError(`${profile} needs a ${keyLength}-octet master key and ${saltLength}-octet salt`);
  }
  // HMAC-SHA1 session auth key is 160 bits (RFC 3711 §8.2); GCM has none.
  const authLength = profile === 'AEAD_AES_128_GCM' ? 0 : 20;
  const d = (label: number, n: number): Buffer => (n === 0 ? Buffer.alloc(0) : deriveSessionKey(masterKey, masterSalt, label, n));
  return {
    rtpKey: d(SRTP_LABEL.rtpEncryption, keyLength),
    rtpSalt: d(SRTP_LABEL.rtpSalt, saltLength),
    rtpAuthKey: d(SRTP_LABEL.rtpAuth, authLength),
    rtcpKey: d(SRTP_LABEL.rtcpEncryption, keyLength),
    rtcpSalt: d(SRTP_LABEL.rtcpSalt, saltLength),
    rtcpAuthKey: d(SRTP_LABEL.rtcpAuth, authLength),
  };
}
