/** Synthetic media payloads for headless peers: just enough of VP8 and Opus for the SFU's parsers. */
/**
 * A VP8 RTP payload: descriptor (RFC 7741 §4.2; S=1, PID=0 on a frame's first packet, else 0) then, on the
 * first packet, a frame tag whose P bit (RFC 6386 §9.1, bit 0) is 0 for a key frame, with the key frame
 * start code and 640×480. The rest is a byte pattern from `seed`, so copies can be compared.
 */
export function vp8Payload(size: number, opts: { keyframe: boolean; first?: boolean; seed?: number }): Buffer {
  if (size < 11) throw new RangeError('VP8 payload of at least 11 bytes');
  const b = Buffer.alloc(size);
  const seed = opts.seed ?? 0;
  for (let i = 1; i < size; i++) b[i] = (seed + i * 7) & 0xff;
  const first = opts.first ?? true;
  b[0] = first ? 0x10 : 0x00;
  if (first) {
    b[1] = opts.keyframe ? 0x10 : 0x11; // show_frame=1, version 0, P = !keyframe
    if (opts.keyframe) b.set([0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01], 4); // RFC 6386 §9.1 start code, 640, 480
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
