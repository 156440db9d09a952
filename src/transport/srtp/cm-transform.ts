import { HmacSha1 } from './hmac-sha1.ts';
import type { SrtpSessionKeys } from './srtp-kdf.ts';
import type { SrtpTransform } from './srtp-transform.ts';
import { SRTCP_E_FLAG } from './srtp-transform.ts';
import { writeCmIv } from './srtp-iv.ts';
import { AesBlocks, BufferViews, xorInto, xorKeystream, type KeystreamWindow } from './keystream.ts';

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
 * (keystream.ts); RTCP and packets outside a window take theirs from one ECB call each (AesBlocks.once),
 * never a cipher object per packet (node:crypto has no re-IV'able one). Tags come from HmacSha1 (two
 * one-shot hashes, no object per packet). Scratch buffers are reused.
 */
export class CmTransform implements SrtpTransform {
  readonly tagLength = TAG;
  readonly keystreamAhead = true;
  private readonly rtpAuth: HmacSha1;
  private readonly rtcpAuth: HmacSha1;
  private readonly rtpBlocks: AesBlocks;
  private readonly rtcpBlocks: AesBlocks;
  private readonly views = new BufferViews();

  constructor(keys: SrtpSessionKeys) {
    this.rtpAuth = new HmacSha1(keys.rtpAuthKey);
    this.rtcpAuth = new HmacSha1(keys.rtcpAuthKey);
    const salt = keys.rtpSalt;
    this.rtpBlocks = new AesBlocks(keys.rtpKey, (ssrc, index, out) => writeCmIv(out, salt, ssrc, index), 0);
    const rtcpSalt = keys.rtcpSalt;
    this.rtcpBlocks = new AesBlocks(keys.rtcpKey, (ssrc, index, out) => writeCmIv(out, rtcpSalt, ssrc, index), 0);
  }

  // RFC 3711 §3.4: header || ciphertext || E||index || tag.
  rtcpIndexOffset(length: number): number {
    return length - TAG - 4;
  }

  protectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, w: KeystreamWindow | null): Buffer {
    const n = length - hl;
    const at = w === null ? -1 : this.rtpBlocks.offset(w, ssrc, index, n);
    const out = Buffer.allocUnsafe(length + TAG);
    if (at >= 0 && this.views.set(out)) {
      buf.copy(out, 0, 0, length);
      xorKeystream(this.views, out.byteOffset + hl, w!, w!.base + at, n);
    } else {
      buf.copy(out, 0, 0, hl);
      xorInto(out, hl, buf, hl, this.rtpBlocks.once(ssrc, index, n), n);
    }
    // RFC 3711 §4.2: the ROC goes where the tag will be, so one update covers header || ciphertext || ROC.
    out.writeUInt32BE(Math.floor(index / 65536) >>> 0, length);
    this.rtpAuth.mac(out, 0, length + 4).copy(out, length, 0, TAG);
    return out;
  }

  unprotectRtp(buf: Buffer, length: number, hl: number, ssrc: number, index: number, w: KeystreamWindow | null): boolean {
    const end = length - TAG;
    // RFC 3711 §4.2: tag = HMAC(k_a, authenticated portion || ROC).
    const tag = this.rtpAuth.mac(buf, 0, end, Math.floor(index / 65536));
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
    xorInto(buf, hl, buf, hl, this.rtpBlocks.once(ssrc, index, end - hl), end - hl);
  }

  protectRtcp(buf: Buffer, length: number, ssrc: number, index: number): Buffer {
    const out = Buffer.allocUnsafe(length + 4 + TAG);
    buf.copy(out, 0, 0, 8);
    xorInto(out, 8, buf, 8, this.rtcpBlocks.once(ssrc, index, length - 8), length - 8);
    out.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, length);
    // RFC 3711 §3.4: the tag covers header || ciphertext || E||index.
    this.rtcpAuth.mac(out, 0, length + 4).copy(out, length + 4, 0, TAG);
    return out;
  }

  unprotectRtcp(buf: Buffer, length: number, ssrc: number, eIndex: number): boolean {
    const tagAt = length - TAG;
    const tag = this.rtcpAuth.mac(buf, 0, tagAt);
    if (!tagsEqual(tag, 0, buf, tagAt, TAG)) return false;
    if ((eIndex & SRTCP_E_FLAG) !== 0) {
      const n = tagAt - 4 - 8;
      xorInto(buf, 8, buf, 8, this.rtcpBlocks.once(ssrc, eIndex & 0x7fffffff, n), n);
    }
    return true;
  }
}
