import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SrtpSessionKeys } from './srtp-kdf.ts';
import type { SrtpTransform } from './srtp-transform.ts';
import { SRTCP_E_FLAG } from './srtp-transform.ts';
import { writeGcmRtcpIv, writeGcmRtpIv } from './srtp-iv.ts';
import type { KeystreamWindow } from './keystream.ts';

const TAG = 16;
const TAG_OPTS = { authTagLength: TAG } as const;

/**
 * AEAD_AES_128_GCM (RFC 7714), a cipher object per packet. The keystream could be made ahead as for AES-CM,
 * but the tag then needs GHASH outside OpenSSL, and a table GHASH in JS is not constant-time (its lookups
 * indexed by data could leak the hash key to a process sharing the CPU's caches); for 1,200-octet video it
 * saved little over the native call. Scratch buffers are reused.
 */
export class GcmTransform implements SrtpTransform {
  readonly tagLength = TAG;
  readonly keystreamAhead = false;
  private readonly iv = Buffer.alloc(12);
  /** SRTCP AAD when E=1: the 8-octet header || E||index (RFC 7714 §9.1, §17). */
  private readonly rtcpAad = Buffer.alloc(12);
  private readonly indexWord = Buffer.alloc(4);
  private readonly rtpKey: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtcpKey: Buffer;
  private readonly rtcpSalt: Buffer;

  constructor(keys: SrtpSessionKeys) {
    this.rtpKey = keys.rtpKey;
    this.rtpSalt = keys.rtpSalt;
    this.rtcpKey = keys.rtcpKey;
    this.rtcpSalt = keys.rtcpSalt;
  }

  // RFC 7714 §9: header || ciphertext || tag || E||index.
  rtcpIndexOffset(length: number): number {
    return length - 4;
  }

  protectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, _w: KeystreamWindow | null): Buffer {
    const out = Buffer.allocUnsafe(length + TAG);
    writeGcmRtpIv(this.iv, this.rtpSalt, ssrc, Math.floor(index / 65536) >>> 0, index & 0xffff);
    const c = createCipheriv('aes-128-gcm', this.rtpKey, this.iv, TAG_OPTS);
    c.setAAD(buf.subarray(0, hl)); // RFC 7714 §8.2: the whole RTP header incl. CSRCs and extension
    buf.copy(out, 0, 0, hl);
    c.update(buf.subarray(hl, length)).copy(out, hl);
    c.final();
    c.getAuthTag().copy(out, length);
    return out;
  }

  unprotectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, _w: KeystreamWindow | null): boolean {
    writeGcmRtpIv(this.iv, this.rtpSalt, ssrc, Math.floor(index / 65536) >>> 0, index & 0xffff);
    const end = length - TAG;
    const d = createDecipheriv('aes-128-gcm', this.rtpKey, this.iv, TAG_OPTS);
    d.setAAD(buf.subarray(0, hl));
    d.setAuthTag(buf.subarray(end, length));
    const plain = d.update(buf.subarray(hl, end));
    try {
      d.final(); // throws on tag mismatch; the plaintext is released only after it passes
    } catch {
      return false;
    }
    plain.copy(buf, hl);
    return true;
  }

  protectRtcp(buf: Buffer, length: number, ssrc: number, index: number): Buffer {
    const eIndex = (SRTCP_E_FLAG | index) >>> 0;
    writeGcmRtcpIv(this.iv, this.rtcpSalt, ssrc, index);
    buf.copy(this.rtcpAad, 0, 0, 8);
    this.rtcpAad.writeUInt32BE(eIndex, 8);
    const c = createCipheriv('aes-128-gcm', this.rtcpKey, this.iv, TAG_OPTS);
    c.setAAD(this.rtcpAad);
    const out = Buffer.allocUnsafe(length + TAG + 4);
    buf.copy(out, 0, 0, 8);
    c.update(buf.subarray(8, length)).copy(out, 8);
    c.final();
    c.getAuthTag().copy(out, length);
    out.writeUInt32BE(eIndex, length + TAG);
    return out;
  }

  unprotectRtcp(buf: Buffer, length: number, ssrc: number, eIndex: number): boolean {
    const tagAt = length - 4 - TAG;
    writeGcmRtcpIv(this.iv, this.rtcpSalt, ssrc, eIndex);
    const d = createDecipheriv('aes-128-gcm', this.rtcpKey, this.iv, TAG_OPTS);
    d.setAuthTag(buf.subarray(tagAt, tagAt + TAG));
    if ((eIndex & SRTCP_E_FLAG) === 0) {
      // RFC 7714 §9.2: unencrypted SRTCP authenticates the whole packet || E||index as AAD.
      this.indexWord.writeUInt32BE(eIndex >>> 0, 0);
      d.setAAD(buf.subarray(0, tagAt));
      d.setAAD(this.indexWord);
      try {
        d.final();
      } catch {
        return false;
      }
      return true;
    }
    buf.copy(this.rtcpAad, 0, 0, 8);
    this.rtcpAad.writeUInt32BE(eIndex >>> 0, 8);
    d.setAAD(this.rtcpAad);
    const plain = d.update(buf.subarray(8, tagAt));
    try {
      d.final();
    } catch {
      return false;
    }
    plain.copy(buf, 8);
    return true;
  }
}
