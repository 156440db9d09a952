/**
 * GHASH (NIST SP 800-38D §6.4) in plain JS, for AES-GCM whose keystream comes from a batched AES-ECB call
 * (keystream.ts): node:crypto has no reusable GCM object, and a createCipheriv per packet costs more than
 * this. Multiplication by the hash subkey H uses 32 tables, one per 4-bit position, of the 16 products
 * (nibble · x^(4·position)) · H: X · H is then the XOR of 32 table entries, no shifts or reductions.
 * 8 KiB per key: with 64 KiB tables (one per octet, 16 lookups) a fan-out to 50 subscribers ran slower,
 * its tables no longer fitting in cache. A block is 4 32-bit words as a little-endian Int32Array reads
 * octets 0..3, 4..7, ... (the entries are stored that way too), so data is read a word at a time without
 * swapping; SrtpContext uses this only on little-endian hosts (LITTLE_ENDIAN).
 * Table lookups indexed by data are not constant-time (like OpenSSL's table GHASH without CLMUL): a
 * process sharing the CPU's caches could learn about H from their timing.
 */
const POSITION_WORDS = 16 * 4;

/** Whether this host stores Int32Array elements little-endian (every platform Node ships for but s390x). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bswap(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export class Ghash {
  private readonly t = new Int32Array(32 * POSITION_WORDS);
  private y0 = 0;
  private y1 = 0;
  private y2 = 0;
  private y3 = 0;

  /** `h` = E(K, 0^128), 16 octets. */
  constructor(h: Uint8Array) {
    // p = H · x^k for k = 0..127 (§6.3: multiplying by x is a right shift, reduced by R = 0xe1 || 0^120).
    let v0 = be32(h, 0);
    let v1 = be32(h, 4);
    let v2 = be32(h, 8);
    let v3 = be32(h, 12);
    const t = this.t;
    for (let k = 0; k < 128; k++) {
      // Nibble position k >> 2, bit 0x8 >> (k & 3): every entry with that bit set gets v XORed in.
      const base = (k >> 2) * POSITION_WORDS;
      const bit = 0x8 >> (k & 3);
      for (let b = bit; b < 16; b = (b + 1) | bit) {
        const i = base + (b << 2);
        t[i] ^= v0;
        t[i + 1] ^= v1;
        t[i + 2] ^= v2;
        t[i + 3] ^= v3;
      }
      const lsb = v3 & 1;
      v3 = (v3 >>> 1) | (v2 << 31);
      v2 = (v2 >>> 1) | (v1 << 31);
      v1 = (v1 >>> 1) | (v0 << 31);
      v0 = (v0 >>> 1) ^ (lsb ? 0xe1000000 : 0);
    }
    for (let i = 0; i < t.length; i++) t[i] = bswap(t[i]);
  }

  reset(): void {
    this.y0 = this.y1 = this.y2 = this.y3 = 0;
  }

  /**
   * Absorbs octets [off, off + len) of an ArrayBuffer seen as `w` (Int32Array) and `b` (Uint8Array), both
   * from its start; `off` is a multiple of 4. The last block is zero-padded (§7.1 step 5: A and C are
   * padded separately).
   */
  update(w: Int32Array, b: Uint8Array, off: number, len: number): void {
    const end = off + len;
    const whole = off + (len & ~15);
    let o = off;
    for (let i = off >> 2; o < whole; o += 16, i += 4) this.mul(this.y0 ^ w[i], this.y1 ^ w[i + 1], this.y2 ^ w[i + 2], this.y3 ^ w[i + 3]);
    if (o < end) {
      let x0 = 0;
      let x1 = 0;
      let x2 = 0;
      let x3 = 0;
      for (let i = 0; o + i < end; i++) {
        const v = b[o + i] << ((i & 3) << 3);
        if (i < 4) x0 |= v;
        else if (i < 8) x1 |= v;
        else if (i < 12) x2 |= v;
        else x3 |= v;
      }
      this.mul(this.y0 ^ x0, this.y1 ^ x1, this.y2 ^ x2, this.y3 ^ x3);
    }
  }

  /**
   * Absorbs the length block len(A) || len(C) in bits (§7.1 step 5) and writes GHASH XOR the mask (the 4
   * words of `mask` from word `maskAt`) to 16 octets of `out` from `outOff`.
   */
  finish(aadBytes: number, textBytes: number, mask: Int32Array, maskAt: number, out: Uint8Array, outOff: number): void {
    // Both lengths are far below 2^29 octets, so each 64-bit bit count fits its low (last) word.
    this.mul(this.y0, this.y1 ^ bswap(aadBytes << 3), this.y2, this.y3 ^ bswap(textBytes << 3));
    put(out, outOff, this.y0 ^ mask[maskAt]);
    put(out, outOff + 4, this.y1 ^ mask[maskAt + 1]);
    put(out, outOff + 8, this.y2 ^ mask[maskAt + 2]);
    put(out, outOff + 12, this.y3 ^ mask[maskAt + 3]);
  }

  /** y = x · H. */
  private mul(x0: number, x1: number, x2: number, x3: number): void {
    const t = this.t;
    let i = ((x0 >>> 4) & 0xf) << 2;
    let z0 = t[i];
    let z1 = t[i + 1];
    let z2 = t[i + 2];
    let z3 = t[i + 3];
    i = 0x40 + ((x0 & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x80 + (((x0 >>> 12) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0xc0 + (((x0 >>> 8) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x100 + (((x0 >>> 20) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x140 + (((x0 >>> 16) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x180 + ((x0 >>> 28) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x1c0 + (((x0 >>> 24) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x200 + (((x1 >>> 4) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x240 + ((x1 & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x280 + (((x1 >>> 12) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x2c0 + (((x1 >>> 8) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x300 + (((x1 >>> 20) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x340 + (((x1 >>> 16) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x380 + ((x1 >>> 28) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x3c0 + (((x1 >>> 24) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x400 + (((x2 >>> 4) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x440 + ((x2 & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x480 + (((x2 >>> 12) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x4c0 + (((x2 >>> 8) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x500 + (((x2 >>> 20) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x540 + (((x2 >>> 16) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x580 + ((x2 >>> 28) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x5c0 + (((x2 >>> 24) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x600 + (((x3 >>> 4) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x640 + ((x3 & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x680 + (((x3 >>> 12) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x6c0 + (((x3 >>> 8) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x700 + (((x3 >>> 20) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x740 + (((x3 >>> 16) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x780 + ((x3 >>> 28) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    i = 0x7c0 + (((x3 >>> 24) & 0xf) << 2);
    z0 ^= t[i]; z1 ^= t[i + 1]; z2 ^= t[i + 2]; z3 ^= t[i + 3];
    this.y0 = z0;
    this.y1 = z1;
    this.y2 = z2;
    this.y3 = z3;
  }
}

function be32(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Writes a block word (little-endian order) as its 4 octets. */
function put(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}
