/** RTCP common header helpers (RFC 3550 §6.4.1: V=2, P, count/FMT, PT, length in 32-bit words minus one). */

/** Allocates a packet of `bytes` (a multiple of 4) with its common header filled in. */
export function allocRtcp(count: number, packetType: number, bytes: number, padding = false): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = 0x80 | (padding ? 0x20 : 0) | (count & 0x1f);
  b[1] = packetType;
  b.writeUInt16BE(bytes / 4 - 1, 2);
  return b;
}

export function u32(buf: Buffer, o: number): number {
  return buf[o] * 0x1000000 + ((buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]);
}

export function putU32(buf: Buffer, o: number, v: number): void {
  buf[o] = (v >>> 24) & 0xff;
  buf[o + 1] = (v >>> 16) & 0xff;
  buf[o + 2] = (v >>> 8) & 0xff;
  buf[o + 3] = v & 0xff;
}
