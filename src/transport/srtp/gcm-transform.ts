import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SrtpSessionKeys } from './srtp-kdf.ts';
import type { SrtpTransform } from './srtp-transform.ts';
import { SRTCP_E_FLAG } from './srtp-transform.ts';
import { writeGcmRtcpIv, writeGcmRtpIv } from './srtp-iv.ts';
import { AesBlocks, BufferViews, xorKeystream, type KeystreamWindow } from './keystream.ts';
import { Ghash } from './ghash.ts';

const TAG = 16;
const TAG_OPTS = { authTagLength: TAG } as const;

/**
 * AEAD_AES_128_GCM (RFC 7714). RTP is GCM put together here: the counter-mode keystream from the
 * stream's window made ahead (keystream.ts) and GHASH in JS (ghash.ts), because node:crypto has no
 * re-IV'able cipher object and a createCipheriv per packet costs more than both. RTCP and packets outside
 * a window use a createCipheriv per packet; scratch buffers are reused.
 */
export class GcmTransform implements SrtpTransform {
  readonly tagLength = TAG;
  private readonly iv = Buffer.alloc(12);
  /** SRTCP AAD when E=1: the 8-octet header || E||index (RFC 7714 §9.1, §17). */
  private readonly rtcpAad = Buffer.alloc(12);
  private readonly indexWord = Buffer.alloc(4);
  /** The tag computed for a received packet. */
  private readonly tag = Buffer.alloc(TAG);
  private readonly views = new BufferViews();
  private readonly rtpKey: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtcpKey: Buffer;
  private readonly rtcpSalt: Buffer;
  private readonly rtpBlocks: AesBlocks;
  private readonly rtpGhash: Ghash;

  constructor(keys: SrtpSessionKeys) {
    this.rtpKey = keys.rtpKey;
    this.rtpSalt = keys.rtpSalt;
    this.rtcpKey = keys.rtcpKey;
    this.rtcpSalt = keys.rtcpSalt;
    const salt = keys.rtpSalt;
    // NIST SP 800-38D §7.1: counter block j of a packet is IV || (1 + j); block 0 (J0) masks the tag.
    this.rtpBlocks = new AesBlocks(keys.rtpKey, (ssrc, index, out) => writeGcmRtpIv(out, salt, ssrc, Math.floor(index / 65536) >>> 0, index & 0xffff), 1);
    this.rtpGhash = new Ghash(this.rtpBlocks.encrypt(Buffer.alloc(16))); // H = E(K, 0^128)
  }

  // RFC 7714 §9: header || ciphertext || tag || E||index.
  rtcpIndexOffset(length: number): number {
    return length - 4;
  }

  protectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, w: KeystreamWindow | null): Buffer {
    const n = length - hl;
    const at = w === null ? -1 : this.rtpBlocks.offset(w, ssrc, index, 16 + n);
    const out = Buffer.allocUnsafe(length + TAG);
    const v = this.views;
    if (at < 0 || !v.set(out)) return this.protectRtpOnce(buf, out, length, hl, ssrc, index);
    buf.copy(out, 0, 0, length);
    const o = out.byteOffset;
    const k = w!.base + at;
    xorKeystream(v, o + hl, w!, k + 16, n);
    // RFC 7714 §8.2: AAD = the whole RTP header incl. CSRCs and extension; tag = GHASH ^ E(K, J0).
    const g = this.rtpGhash;
    g.reset();
    g.update(v.words, v.bytes, o, hl);
    g.update(v.words, v.bytes, o + hl, n);
    g.finish(hl, n, w!.words, k >> 2, v.bytes, o + length);
    return out;
  }

  /** One packet with its own cipher object (a packet outside the keystream window). */
  private protectRtpOnce(buf: Buffer, out: Buffer, length: number, hl: number, ssrc: number, index: number): Buffer {
    writeGcmRtpIv(this.iv, this.rtpSalt, ssrc, Math.floor(index / 65536) >>> 0, index & 0xffff);
    const c = createCipheriv('aes-128-gcm', this.rtpKey, this.iv, TAG_OPTS);
    c.setAAD(buf.subarray(0, hl)); // RFC 7714 §8.2: the whole RTP header incl. CSRCs and extension
    buf.copy(out, 0, 0, hl);
    c.update(buf.subarray(hl, length)).copy(out, hl);
    c.final();
    c.getAuthTag().copy(out, length);
    return out;
  }

  unprotectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, w: KeystreamWindow | null): boolean {
    const end = length - TAG;
    const n = end - hl;
    if (w === null) return this.unprotectRtpOnce(buf, length, hl, ssrc, index);
    const at = this.rtpBlocks.peek(w, index, 16 + n);
    const v = this.views;
    if (at < 0 || !v.set(buf)) {
      if (!this.unprotectRtpOnce(buf, length, hl, ssrc, index)) return false;
      this.rtpBlocks.accepted(w, ssrc, index, 16 + n);
      return true;
    }
    const o = buf.byteOffset;
    const k = w.base + at;
    const g = this.rtpGhash;
    g.reset();
    g.update(v.words, v.bytes, o, hl);
    g.update(v.words, v.bytes, o + hl, n);
    g.finish(hl, n, w.words, k >> 2, this.tag, 0);
    // Constant-time compare; the plaintext is written only after the tag passed (RFC 7714 §8.3 / SP 800-38D §7.2).
    let diff = 0;
    for (let i = 0; i < TAG; i++) diff |= this.tag[i] ^ buf[end + i];
    if (diff !== 0) return false;
    xorKeystream(v, o + hl, w, k + 16, n);
    this.rtpBlocks.accepted(w, ssrc, index, 16 + n);
    return true;
  }

  /** One packet with its own cipher object (outside the keystream window). */
  private unprotectRtpOnce(buf: Buffer, length: number, hl: number, ssrc: number, index: number): boolean {
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
