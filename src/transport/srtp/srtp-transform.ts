import type { KeystreamWindow } from './keystream.ts';

/**
 * The per-profile crypto of SRTP/SRTCP. The context above it has already parsed the header,
 * estimated the index and checked replay; a transform only encrypts/authenticates.
 * Lengths passed in are checked by the caller (header and tag fit inside `length`).
 */
export interface SrtpTransform {
  readonly tagLength: number;
  /** Whether this profile uses a keystream made ahead (keystream.ts) when the context offers one. */
  readonly keystreamAhead: boolean;
  /** Offset of the E||SRTCP-index word in an SRTCP packet of `length` octets. */
  rtcpIndexOffset(length: number): number;
  /**
   * Returns header || ciphertext || tag in a new Buffer. `window`: the send stream's keystream made ahead
   * (keystream.ts), or null to make the packet its own keystream (AES-CM) or cipher (GCM).
   */
  protectRtp(buf: Buffer, length: number, headerLength: number, ssrc: number, index: number, window: KeystreamWindow | null): Buffer;
  /**
   * `length` includes the tag. On success the plaintext payload is written back into buf. `window`: the
   * receive stream's keystream made ahead, or null.
   */
  unprotectRtp(buf: Buffer, length: number, headerLength: number, ssrc: number, index: number, window: KeystreamWindow | null): boolean;
  /** Always encrypts (E=1). Returns the SRTCP packet in a new Buffer. */
  protectRtcp(buf: Buffer, length: number, ssrc: number, index: number): Buffer;
  /** `eIndex` is the E||index word read from the packet. Decrypts in place when E=1. */
  unprotectRtcp(buf: Buffer, length: number, ssrc: number, eIndex: number): boolean;
}

/** E flag of the SRTCP trailer word (RFC 3711 §3.4). */
export const SRTCP_E_FLAG = 0x80000000;
