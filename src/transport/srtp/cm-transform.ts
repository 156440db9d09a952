import { createCipheriv, createHmac } from 'node:crypto';
import type { SrtpSessionKeys } from './srtp-kdf.ts';
import type { SrtpTransform } from './srtp-transform.ts';
import { SRTCP_E_FLAG } from './srtp-transform.ts';
import { writeCmIv } from './srtp-iv.ts';
import { AesBlocks, BufferViews, xorKeystream, type KeystreamWindow } from './keystream.ts';

/** HMAC-SHA1 truncated to 80 bits for both SRTP and SRTCP (RFC 3711 §4.2, RFC 5764 §4.1.2). */
const TAG = 10;

/** Constant-time compare of two tag ranges, so timing does not leak how many octets matched. */
function tagsEqual(a: Buffer, aOff: number, b: Buffer, bOff: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a[aOff + i] ^ b[bOff + i];
  return diff === 0;
}

/**
 * AES_CM_128_HMAC_SHA1_80 (RFC 3711). RTP takes its keystream from the stream's window made ahead
 * (keystream.ts); RTCP and packets outside a window use a createCipheriv per packet (node:crypto has no
 * re-IV'able cipher object). The tag is a createHmac per packet. Scratch buffers are reused.
 */
export class CmTransform implements SrtpTransform {
  readonly tagLength = TAG;
  readonly keystreamAhead = true;
  private readonly iv = Buffer.alloc(16);
  private readonly word = Buffer.alloc(4);
  private readonly rtpKey: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtpAuthKey: Buffer;
  private readonly rtcpKey: Buffer;
  private readonly rtcpSalt: Buffer;
  private readonly rtcpAuthKey: Buffer;
  private readonly rtpBlocks: AesBlocks;
  private readonly views = new BufferViews();

  constructor(keys: SrtpSessionKeys) {
    this.rtpKey = keys.rtpKey;
    this.rtpSalt = keys.rtpSalt;
    this.rtpAuthKey = keys.rtpAuthKey;
    this.rtcpKey = keys.rtcpKey;
    this.rtcpSalt = keys.rtcpSalt;
    this.rtcpAuthKey = keys.rtcpAuthKey;
    const salt = keys.rtpSalt;
    this.rtpBlocks = new AesBlocks(keys.rtpKey, (ssrc, index, out) => writeCmIv(out, salt, ssrc, index), 0);
  }

  // RFC 3711 §3.4: header || ciphertext || E||index || tag.
  rtcpIndexOffset(length: number): number {
    return length - TAG - 4;
  }

  /** RFC 3711 §4.2: tag = HMAC(k_a, authenticated portion || ROC) for SRTP. */
  private rtpTag(key: Buffer, data: Buffer, end: number, roc: number): Buffer {
    this.word.writeUInt32BE(roc >>> 0, 0);
    return createHmac('sha1', key).update(data.subarray(0, end)).update(this.word).digest();
  }

  protectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, w: KeystreamWindow | null): Buffer {
    const n = length - hl;
    const at = w === null ? -1 : this.rtpBlocks.offset(w, ssrc, index, n);
    const out = Buffer.allocUnsafe(length + TAG);
    if (at >= 0 && this.views.set(out)) {
      buf.copy(out, 0, 0, length);
      xorKeystream(this.views, out.byteOffset + hl, w!, w!.base + at, n);
    } else {
      writeCmIv(this.iv, this.rtpSalt, ssrc, index);
      const c = createCipheriv('aes-128-ctr', this.rtpKey, this.iv);
      buf.copy(out, 0, 0, hl);
      c.update(buf.subarray(hl, length)).copy(out, hl);
    }
    // RFC 3711 §4.2: the ROC goes where the tag will be, so one update covers header || ciphertext || ROC.
    out.writeUInt32BE(Math.floor(index / 65536) >>> 0, length);
    createHmac('sha1', this.rtpAuthKey).update(out.subarray(0, length + 4)).digest().copy(out, length, 0, TAG);
    return out;
  }

  unprotectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, w: KeystreamWindow | null): boolean {
    const end = length - TAG;
    const tag = this.rtpTag(this.rtpAuthKey, buf, end, Math.floor(index / 65536));
    if (!tagsEqual(tag, 0, buf, end, TAG)) return false;
    const n = end - hl;
    if (w === null) {
      this.decryptRtpOnce(buf, end, hl, ssrc, index);
      return true;
    }
    const at = this.rtpBlocks.peek(w, index, n);
    if (at >= 0 && this.views.set(buf)) xorKeystream(this.views, buf.byteOffset + hl, w, w.base + at, n);
    else this.decryptRtpOnce(buf, end, hl, ssrc, index);
    this.rtpBlocks.accepted(w, ssrc, index, n);
    return true;
  }

  private decryptRtpOnce(buf: Buffer, end: number, hl: number, ssrc: number, index: number): void {
    writeCmIv(this.iv, this.rtpSalt, ssrc, index);
    createCipheriv('aes-128-ctr', this.rtpKey, this.iv).update(buf.subarray(hl, end)).copy(buf, hl);
  }

  protectRtcp(buf: Buffer, length: number, ssrc: number, index: number): Buffer {
    writeCmIv(this.iv, this.rtcpSalt, ssrc, index);
    const c = createCipheriv('aes-128-ctr', this.rtcpKey, this.iv);
    const out = Buffer.allocUnsafe(length + 4 + TAG);
    buf.copy(out, 0, 0, 8);
    c.update(buf.subarray(8, length)).copy(out, 8);
    out.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, length);
    // RFC 3711 §3.4: the tag covers header || ciphertext || E||index.
    createHmac('sha1', this.rtcpAuthKey).update(out.subarray(0, length + 4)).digest().copy(out, length + 4, 0, TAG);
    return out;
  }

  unprotectRtcp(buf: Buffer, length: number, ssrc: number, eIndex: number): boolean {
    const tagAt = length - TAG;
    const tag = createHmac('sha1', this.rtcpAuthKey).update(buf.subarray(0, tagAt)).digest();
    if (!tagsEqual(tag, 0, buf, tagAt, TAG)) return false;
    if ((eIndex & SRTCP_E_FLAG) !== 0) {
      writeCmIv(this.iv, this.rtcpSalt, ssrc, eIndex & 0x7fffffff);
      createCipheriv('aes-128-ctr', this.rtcpKey, this.iv).update(buf.subarray(8, tagAt - 4)).copy(buf, 8);
    }
    return true;
  }
}
