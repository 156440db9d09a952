import { createCipheriv, type Cipher } from 'node:crypto';

/** Whether this host stores Int32Array elements little-endian (every platform Node ships for but s390x). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Counter-mode keystream for the next packets of one RTP stream, made ahead in one AES-ECB call.
 *
 * Why: node:crypto has no cipher object that can be re-IV'd, so counter mode per packet means a
 * createCipheriv per packet, and the cost is the native call and the object, not AES (one ECB `update`
 * over the counter blocks of 16 packets costs about what one per-packet cipher does). The keystream of
 * an SRTP packet depends only on the key, the SSRC and the packet index (RFC 3711 §4.1.1, RFC 7714 §8.1),
 * and streams number their packets consecutively (ours exactly, a peer's nearly), so the keystream of the
 * next packets can be made before they exist. A packet outside the window (an old index, a packet longer than the window's
 * stride) gets its own keystream (AesBlocks.once; GCM: a cipher object): the bytes on the wire are the same either way.
 */
export class KeystreamWindow {
  /** ECB output: `count` packets' keystream, `stride` octets each, the first for index `first`. */
  data: Buffer | null = null;
  /** `data`'s ArrayBuffer as words and octets, and where `data` starts in it (a multiple of 4). */
  words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  bytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  base = 0;
  first = 0;
  count = 0;
  stride = 0;
  /** Longest keystream a packet of this stream needed so far (octets); the next window covers it. */
  longest = 0;
}

/** Packets per window: one ECB call per this many packets. */
export const WINDOW_PACKETS = 16;
/** Longest keystream made ahead for one packet (octets): a packet needing more gets its own (AesBlocks.once). */
export const MAX_STRIDE = 1504;

/** Counter blocks of a window are written here, then encrypted in one call (synchronous, so shared). */
const scratch = Buffer.alloc(WINDOW_PACKETS * MAX_STRIDE);
const scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);

/**
 * Writes the counter blocks of one packet: `blocks` blocks of the 16-octet `base` whose last 32-bit word
 * is replaced by `counter0 + j` for block j (AES-CM: the IV's low 16 bits are zero and count blocks,
 * RFC 3711 §4.1.1; GCM: IV || 32-bit counter, NIST SP 800-38D §7.1).
 */
function writeCounters(v: DataView, at: number, base: Uint8Array, blocks: number, counter0: number): void {
  const w0 = (base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3];
  const w1 = (base[4] << 24) | (base[5] << 16) | (base[6] << 8) | base[7];
  const w2 = (base[8] << 24) | (base[9] << 16) | (base[10] << 8) | base[11];
  const w3 = ((base[12] << 24) | (base[13] << 16) | (base[14] << 8) | base[15]) + counter0;
  for (let j = 0; j < blocks; j++, at += 16) {
    v.setInt32(at, w0);
    v.setInt32(at + 4, w1);
    v.setInt32(at + 8, w2);
    v.setInt32(at + 12, w3 + j);
  }
}

export type IvWriter = (ssrc: number, index: number, out: Buffer) => void;

/** Highest valid SRTP index: 48 bits (RFC 3711 §3.3.1); no keystream is made past it. */
const MAX_INDEX = 2 ** 48 - 1;

/** One AES-128 key's ECB context, kept for the life of the SRTP context, and how its packets' counters start. */
export class AesBlocks {
  private readonly ecb: Cipher;
  /** 16-octet scratch for a packet's counter base. */
  private readonly iv = Buffer.alloc(16);

  /**
   * `ivOf(ssrc, index, out)` writes packet `index`'s 16-octet counter base; block j of the packet uses
   * that base with `counter0 + j` added to its last 32-bit word.
   */
  constructor(
    key: Buffer,
    private readonly ivOf: IvWriter,
    private readonly counter0: number,
  ) {
    this.ecb = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  }

  /** Encrypts whole blocks (for GCM's H = E(K, 0^128)). */
  encrypt(b: Buffer): Buffer {
    return this.ecb.update(b);
  }

  /**
   * Where packet `index`'s keystream (`need` octets) starts in `w.data`, making a new window from `index`
   * on when the packet is past the current one; -1 when it is not made ahead (an index before the window,
   * or longer than MAX_STRIDE): the caller makes the packet its own.
   */
  offset(w: KeystreamWindow, ssrc: number, index: number, need: number): number {
    if (need > MAX_STRIDE) return -1;
    if (need > w.longest) w.longest = need;
    const p = index - w.first;
    if (p >= 0 && p < w.count && need <= w.stride) return p * w.stride;
    if (p < 0 && w.data !== null) return -1;
    this.fill(w, ssrc, index, Math.min(WINDOW_PACKETS, MAX_INDEX - index + 1));
    return 0;
  }

  /**
   * Receive side: where packet `index`'s keystream starts in `w.data`, or -1 (the caller uses a per-packet
   * cipher). Never makes a window: only `accepted` does, so a forged packet cannot move it.
   */
  peek(w: KeystreamWindow, index: number, need: number): number {
    const p = index - w.first;
    return p >= 0 && p < w.count && need <= w.stride ? p * w.stride : -1;
  }

  /**
   * Receive side: packet `index` (`need` octets of keystream) authenticated; when it ends the window or
   * lies past it, the next window starts after it.
   */
  accepted(w: KeystreamWindow, ssrc: number, index: number, need: number): void {
    if (need <= MAX_STRIDE && need > w.longest) w.longest = need;
    if (index >= MAX_INDEX || (w.data !== null && index < w.first + w.count - 1)) return;
    this.fill(w, ssrc, index + 1, Math.min(WINDOW_PACKETS, MAX_INDEX - index));
  }

  /**
   * The keystream of one packet (`n` octets, rounded up to whole blocks) in one ECB call: for what has no
   * window (RTCP, a packet outside its stream's window). The result is valid until the next call.
   */
  once(ssrc: number, index: number, n: number): Buffer {
    const blocks = (n + 15) >> 4;
    // Longer than the shared scratch (a jumbo RTCP compound): counters of its own.
    const fits = blocks << 4 <= scratch.length;
    const counters = fits ? scratch.subarray(0, blocks << 4) : Buffer.alloc(blocks << 4);
    const view = fits ? scratchView : new DataView(counters.buffer, counters.byteOffset, counters.length);
    this.ivOf(ssrc, index, this.iv);
    writeCounters(view, 0, this.iv, blocks, this.counter0);
    return this.ecb.update(counters);
  }

  private fill(w: KeystreamWindow, ssrc: number, first: number, count: number): void {
    const stride = (w.longest + 15) & ~15;
    const blocks = stride >> 4;
    for (let p = 0; p < count; p++) {
      this.ivOf(ssrc, first + p, this.iv);
      writeCounters(scratchView, p * stride, this.iv, blocks, this.counter0);
    }
    let data = this.ecb.update(scratch.subarray(0, count * stride));
    if ((data.byteOffset & 3) !== 0) data = Buffer.from(new Uint8Array(data)); // a fresh ArrayBuffer: offset 0
    w.data = data;
    w.words = new Int32Array(data.buffer, 0, data.buffer.byteLength >> 2);
    w.bytes = new Uint8Array(data.buffer);
    w.base = data.byteOffset;
    w.first = first;
    w.count = count;
    w.stride = stride;
  }
}

/**
 * Word and octet views of the ArrayBuffer under the last Buffer asked for: packets are XORed and hashed a
 * 32-bit word at a time. Output Buffers come from Buffer's pool, so the views change every few packets.
 */
export class BufferViews {
  words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  bytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private of: ArrayBufferLike | null = null;

  /** Views of `b`'s ArrayBuffer; false when `b` does not start at a multiple of 4 in it (use octets then). */
  set(b: Buffer): boolean {
    if ((b.byteOffset & 3) !== 0) return false;
    const ab = b.buffer;
    if (ab !== this.of) {
      this.of = ab;
      this.words = new Int32Array(ab, 0, ab.byteLength >> 2);
      this.bytes = new Uint8Array(ab);
    }
    return true;
  }
}

/** dst[at, at + n) = src[from, from + n) ^ ks[0, n): one packet's keystream from AesBlocks.once. */
export function xorInto(dst: Buffer, at: number, src: Buffer, from: number, ks: Buffer, n: number): void {
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i] ^ ks[i];
}

/** Octets [at, at + n) of `v`'s buffer ^= the window's keystream from its octet `k` (both offsets absolute, multiples of 4). */
export function xorKeystream(v: BufferViews, at: number, w: KeystreamWindow, k: number, n: number): void {
  const dw = v.words;
  const kw = w.words;
  const nw = n >> 2;
  const d = at >> 2;
  const s = k >> 2;
  for (let i = 0; i < nw; i++) dw[d + i] ^= kw[s + i];
  const db = v.bytes;
  const kb = w.bytes;
  for (let i = nw << 2; i < n; i++) db[at + i] ^= kb[k + i];
}
