/** Synthetic media payloads for headless peers: just enough of VP8 and Opus for the SFU's parsers. */

/** Extended VP8 descriptor fields (RFC 7741 §4.2), as Chrome sends them with temporal layers. */
export interface Vp8DescriptorFields {
  /** 15-bit PictureID (M=1). */
  pictureId: number;
  tl0PicIdx?: number;
  tid?: number;
  /** Y: the frame depends only on TL0 frames. */
  layerSync?: boolean;
}

/**
 * A VP8 RTP payload: descriptor (RFC 7741 §4.2; S=1, PID=0 on a frame's first packet, else 0), by default
 * one byte, or with `descriptor` X=1 and PictureID (+ TL0PICIDX, TID/Y when given). Then, on the first
 * packet, a frame tag whose P bit (RFC 6386 §9.1, bit 0) is 0 for a key frame, with the key frame start code
 * and `width`×`height` (default 640×480). The rest is a byte pattern from `seed`, so copies can be compared.
 */
export function vp8Payload(
  size: number,
  opts: { keyframe: boolean; first?: boolean; seed?: number; descriptor?: Vp8DescriptorFields; width?: number; height?: number },
): Buffer {
  const d = opts.descriptor;
  const dlen = d === undefined ? 1 : 4 + (d.tl0PicIdx !== undefined ? 1 : 0) + (d.tid !== undefined ? 1 : 0);
  if (size < dlen + 10) throw new RangeError(`VP8 payload of at least ${dlen + 10} bytes`);
  const b = Buffer.alloc(size);
  const seed = opts.seed ?? 0;
  for (let i = 1; i < size; i++) b[i] = (seed + i * 7) & 0xff;
  const first = opts.first ?? true;
  b[0] = first ? 0x10 : 0x00;
  let o = 1;
  if (d !== undefined) {
    b[0] |= 0x80; // X
    b[1] = 0x80 | (d.tl0PicIdx !== undefined ? 0x40 : 0) | (d.tid !== undefined ? 0x20 : 0); // I, L, T
    b[2] = 0x80 | ((d.pictureId >> 8) & 0x7f); // M = 1: 15 bits
    b[3] = d.pictureId & 0xff;
    o = 4;
    if (d.tl0PicIdx !== undefined) b[o++] = d.tl0PicIdx & 0xff;
    if (d.tid !== undefined) b[o++] = ((d.tid & 3) << 6) | (d.layerSync ? 0x20 : 0);
  }
  if (first) {
    b[o] = opts.keyframe ? 0x10 : 0x11; // show_frame=1, version 0, P = !keyframe
    if (opts.keyframe) {
      const w = opts.width ?? 640;
      const h = opts.height ?? 480;
      b.set([0x9d, 0x01, 0x2a, w & 0xff, (w >> 8) & 0x3f, h & 0xff, (h >> 8) & 0x3f], o + 3); // RFC 6386 §9.1
    }
  }
  return b;
}

/** An Opus-looking payload (TOC byte: SILK WB 20 ms, mono) with a byte pattern from `seed`. */
export function opusPayload(size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed + i * 13) & 0xff;
  b[0] = 0x48;
  return b;
}
