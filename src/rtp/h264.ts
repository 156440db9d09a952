/**
 * H.264 keyframe detection over an RTP payload (RFC 6184 §5.6–5.8): an IDR slice (NAL type 5) or an SPS (7)
 * in a single NAL unit, a STAP-A aggregate (24), or the first fragment of an FU-A (28).
 */
export function isH264Keyframe(buf: Buffer, offset: number, length: number): boolean {
  if (length < 1) return false;
  const type = buf[offset] & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: 16-bit NALU size, then the NAL unit (RFC 6184 §5.7.1).
    let o = offset + 1;
    const end = offset + length;
    while (o + 2 < end) {
      const size = (buf[o] << 8) | buf[o + 1];
      if (size === 0 || o + 2 + size > end) return false;
      const t = buf[o + 2] & 0x1f;
      if (t === 5 || t === 7) return true;
      o += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    // FU-A: start bit set and the fragmented NAL type (RFC 6184 §5.8).
    if (length < 2) return false;
    const fuHeader = buf[offset + 1];
    return (fuHeader & 0x80) !== 0 && ((fuHeader & 0x1f) === 5 || (fuHeader & 0x1f) === 7);
  }
  return false;
}

/**
 * The picture size an SPS declares (ITU-T H.264 §7.3.2.1.1, cropping §7.4.2.1.1), from the SPS in an RTP
 * payload: a single NAL unit or one inside a STAP-A (where Chrome sends SPS, PPS and IDR together). Returns
 * width × 0x10000 + height, or -1 when the payload holds no parsable SPS. Runs on keyframes only.
 */
export function h264SpsResolution(buf: Buffer, offset: number, length: number): number {
  if (length < 1) return -1;
  const type = buf[offset]! & 0x1f;
  if (type === 7) return parseSps(buf, offset + 1, offset + length);
  if (type !== 24) return -1;
  let o = offset + 1;
  const end = offset + length;
  while (o + 2 < end) {
    const size = (buf[o]! << 8) | buf[o + 1]!;
    if (size === 0 || o + 2 + size > end) return -1;
    if ((buf[o + 2]! & 0x1f) === 7) return parseSps(buf, o + 3, o + 2 + size);
    o += 2 + size;
  }
  return -1;
}

/** Reads RBSP bits, skipping emulation prevention bytes (00 00 03 → 00 00) as it goes (§7.4.1). */
class RbspReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  private byte = 0;
  private bit = 8;
  private zeros = 0;
  overrun = false;

  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.bit = 8;
    this.zeros = 0;
    this.overrun = false;
    return this;
  }

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit1();
    return v;
  }

  /** Exp-Golomb ue(v) (§9.1). */
  ue(): number {
    let lead = 0;
    while (this.bit1() === 0) {
      if (++lead > 31 || this.overrun) {
        this.overrun = true;
        return 0;
      }
    }
    return 2 ** lead - 1 + this.u(lead);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }

  private bit1(): number {
    if (this.bit === 8) {
      if (this.pos >= this.end) {
        this.overrun = true;
        return 0;
      }
      let b = this.buf[this.pos++]!;
      if (this.zeros >= 2 && b === 3) {
        this.zeros = 0;
        if (this.pos >= this.end) {
          this.overrun = true;
          return 0;
        }
        b = this.buf[this.pos++]!;
      }
      this.zeros = b === 0 ? this.zeros + 1 : 0;
      this.byte = b;
      this.bit = 0;
    }
    return (this.byte >> (7 - this.bit++)) & 1;
  }
}

/** Profiles whose SPS carries chroma format and bit depths (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** One reader for every parse: nothing allocated per keyframe. */
const reader = new RbspReader();

function parseSps(buf: Buffer, start: number, end: number): number {
  const r = reader.reset(buf, start, end);
  const profile = r.u(8);
  r.u(16); // constraint flags, level_idc
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.u(1);
    r.ue();
    r.ue();
    r.u(1);
    if (r.u(1) === 1) {
      // Scaling lists (§7.3.2.1.1.1): read through, values unused.
      for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
        if (r.u(1) === 0) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
          next = (last + r.se() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n && !r.overrun; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1);
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (frameMbsOnly === 0) r.u(1);
  r.u(1);
  let crop = [0, 0, 0, 0];
  if (r.u(1) === 1) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  if (r.overrun) return -1;
  const subW = chroma === 1 || chroma === 2 ? 2 : 1;
  const subH = chroma === 1 ? 2 : 1;
  const unitX = chroma === 0 ? 1 : subW;
  const unitY = (chroma === 0 ? 1 : subH) * (2 - frameMbsOnly);
  const w = widthMbs * 16 - (crop[0]! + crop[1]!) * unitX;
  const h = (2 - frameMbsOnly) * heightMapUnits * 16 - (crop[2]! + crop[3]!) * unitY;
  return w > 0 && h > 0 && w < 0x10000 && h < 0x10000 ? w * 0x10000 + h : -1;
}
