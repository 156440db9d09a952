/** Seeded random input for hostile tests: reproducible, so a failure can be replayed from its seed. */

/** xorshift32 in [0, 1). */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Values that break naive parsers: numbers out of range, empty, prototype names, long, non-ASCII. */
const NASTY = ['0', '-1', '65536', '4294967296', '999999999999999999999', 'NaN', '', ' ', ':', 'a=', '__proto__', 'constructor', 'x'.repeat(300), 'sendonly', 'inactive', 'actpass', 'active', 'passive', 'rtx/90000', 'VP8/90000', 'opus/48000/2', 'apt=96', 'BUNDLE', 'FID', 'SIM', 'é', '\t'];

/** 1–4 line-level mutations of an SDP: delete, duplicate, swap, truncate, replace a token or a number. */
export function mutateSdp(sdp: string, rnd: () => number): string {
  const lines = sdp.split('\r\n').filter((l) => l.length > 0);
  const at = () => Math.floor(rnd() * lines.length);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const i = at();
    const nasty = NASTY[Math.floor(rnd() * NASTY.length)]!;
    switch (Math.floor(rnd() * 6)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[at()]!);
        break;
      case 2: {
        const parts = lines[i]!.split(/([ :=/;])/);
        parts[Math.floor(rnd() * parts.length)] = nasty;
        lines[i] = parts.join('');
        break;
      }
      case 3:
        lines[i] = lines[i]!.slice(0, Math.floor(rnd() * lines[i]!.length));
        break;
      case 4: {
        const j = at();
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        break;
      }
      default:
        lines[i] = lines[i]!.replace(/\d+/, nasty);
    }
  }
  // Bare LF line endings now and then: browsers never send them, parsers must cope anyway.
  return rnd() < 0.05 ? lines.join('\n') : lines.join('\r\n') + '\r\n';
}
