/** The two DTLS-SRTP protection profiles we negotiate (RFC 5764 §4.1.2, RFC 7714 §14.2). */
export type SrtpProfileName = 'AEAD_AES_128_GCM' | 'AES_CM_128_HMAC_SHA1_80';

/** DTLS use_srtp profile id → profile; null for ids we do not offer. */
export function srtpProfileFromDtlsId(id: number): SrtpProfileName | null {
  if (id === 0x0007) return 'AEAD_AES_128_GCM'; // RFC 7714 §14.2
  if (id === 0x0001) return 'AES_CM_128_HMAC_SHA1_80'; // RFC 5764 §4.1.2
  return null;
}

/** Master key/salt lengths, as exported by DTLS (RFC 5764 §4.2). */
export function srtpKeyLengths(p: SrtpProfileName): { keyLength: number; saltLength: number } {
  // RFC 7714 §12: 96-bit salt for GCM; RFC 3711 §8.2: 112-bit salt for AES-CM.
  return p === 'AEAD_AES_128_GCM' ? { keyLength: 16, saltLength: 12 } : { keyLength: 16, saltLength: 14 };
}

/** Authentication tag length appended to SRTP and SRTCP packets. */
export function srtpTagLength(p: SrtpProfileName): number {
  // RFC 7714 §12: 16-octet GCM tag; RFC 5764 §4.1.2: 80-bit HMAC-SHA1 tag for both RTP and RTCP.
  return p === 'AEAD_AES_128_GCM' ? 16 : 10;
}
