/**
 * The fuzzer's mutation engine: a seeded PRNG whose state can be saved and resumed, and mutators over
 * bytes (bit flips, byte sets, boundary integers, length-field edits, inserts, deletes, duplication, splices
 * between corpus entries), over text lines and numbers (SDP, JWT parts) and over JSON values (signaling).
 * Pure: no I/O, no clock. Every mutation returns a fresh Buffer and never grows past the target's maxLen.
 */

/** xorshift128: four 32-bit words of state, exportable so a run resumes exactly where it stopped. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[]) {
    this.s = new Uint32Array(4);
    if (typeof seed === 'number') {
      // splitmix32 spreads one seed over the four words (never all zero).
      let x = seed >>> 0;
      for (let i = 0; i < 4; i++) {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        this.s[i] = (z ^ (z >>> 16)) >>> 0;
      }
      if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    } else {
      for (let i = 0; i < 4; i++) this.s[i] = seed[i] >>> 0;
    }
  }

  state(): number[] {
    return [...this.s];
  }

  u32(): number {
    const s = this.s;
    let t = s[3];
    const x = s[0];
    s[3] = s[2];
    s[2] = s[1];
    s[1] = x;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = (t ^ x ^ (x >>> 19)) >>> 0;
    return s[0];
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }

  /** Small numbers far more often than large ones: 1..max, roughly log-uniform. */
  small(max: number): number {
    const bits = Math.max(1, Math.ceil(Math.log2(max + 1)));
    const v = this.below(2 ** (1 + this.below(bits)));
    return Math.min(max, Math.max(1, v));
  }
}

/** Integers at the edges parsers get wrong: sign, width and length boundaries. */
export const INTERESTING_U8 = [0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 20, 24, 31, 32, 63, 64, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xfe, 0xff];
export const INTERESTING_U16 = [0, 1, 2, 4, 8, 12, 16, 20, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff];
export const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x10000, 0xffff, 0x1000000, 0xffffff];
/** Numbers as text, for SDP attributes, JSON values and JWT claims. */
export const INTERESTING_NUMBERS = [
  '0', '-0', '1', '-1', '127', '128', '255', '256', '65535', '65536', '2147483647', '2147483648', '4294967295', '4294967296',
  '9007199254740991', '9007199254740993', '1e308', '1e309', '-1e309', '0.5', '1.5e3', '00001', '99999999999999999999999', 'NaN', 'Infinity', '0x10',
];
/** Text fragments that upset line-, token- and escape-based parsers. */
export const INTERESTING_TEXT = [
  '\r\n', '\n', '\r', '\0', ' ', '\t', ':', ';', '=', ',', '/', '.', '..', '"', '\\', '\\u0000', '%', '{', '}', '[', ']',
  'a=', 'm=', 'a=rtcp-fb:96 nack', 'a=ssrc:1 cname:x', 'a=rid:q send', 'a=simulcast:send q;h;f', 'a=extmap:15 urn:x',
  '\u2028', '\ud800', '\uffff', 'é', '😀', '__proto__', 'constructor', 'prototype',
];

export type InputKind = 'bytes' | 'text' | 'json';

export interface MutationContext {
  rng: Rng;
  /** Other corpus entries, for splices. */
  corpus: readonly Buffer[];
  maxLen: number;
  kind: InputKind;
  /** Leading bytes the target reads as an envelope (mode bits): mutated only sometimes. */
  headerBytes: number;
}

type ByteMutator = (b: Buffer, c: MutationContext) => Buffer;

function clampLen(b: Buffer, max: number): Buffer {
  return b.length > max ? b.subarray(0, max) : b;
}

/** Random offset past the envelope (or anywhere when the input is all envelope). */
function at(b: Buffer, c: MutationContext): number {
  const lo = b.length > c.headerBytes && !c.rng.chance(0.05) ? c.headerBytes : 0;
  return lo + c.rng.below(b.length - lo);
}

const flipBit: ByteMutator = (b, c) => {
  if (b.length === 0) return b;
  const o = at(b, c);
  b[o] ^= 1 << c.rng.below(8);
  return b;
};

const setByte: ByteMutator = (b, c) => {
  if (b.length === 0) return b;
  b[at(b, c)] = c.rng.chance(0.5) ? c.rng.pick(INTERESTING_U8) : c.rng.below(256);
  return b;
};

const arithByte: ByteMutator = (b, c) => {
  if (b.length === 0) return b;
  const o = at(b, c);
  b[o] = (b[o] + (c.rng.chance(0.5) ? 1 : -1) * c.rng.small(35)) & 0xff;
  return b;
};

/** A boundary integer written over 2 or 4 bytes, either byte order. */
const setInt: ByteMutator = (b, c) => {
  const wide = c.rng.chance(0.4);
  const n = wide ? 4 : 2;
  if (b.length < n) return b;
  const o = Math.min(at(b, c), b.length - n);
  const le = c.rng.chance(0.2);
  if (wide) {
    const v = c.rng.pick(INTERESTING_U32) >>> 0;
    if (le) b.writeUInt32LE(v, o);
    else b.writeUInt32BE(v, o);
  } else {
    const v = c.rng.pick(INTERESTING_U16);
    if (le) b.writeUInt16LE(v, o);
    else b.writeUInt16BE(v, o);
  }
  return b;
};

/**
 * Length-field edit: read a u8 or u16 somewhere, nudge it by a small amount or set it to what the bytes
 * after it hold (± a few), so counts and lengths disagree with the data by just a little.
 */
const editLength: ByteMutator = (b, c) => {
  const u16 = c.rng.chance(0.6);
  const n = u16 ? 2 : 1;
  if (b.length < n) return b;
  const o = Math.min(at(b, c), b.length - n);
  const cur = u16 ? b.readUInt16BE(o) : b[o];
  const rest = b.length - o - n;
  let v: number;
  switch (c.rng.below(4)) {
    case 0:
      v = cur + c.rng.small(16);
      break;
    case 1:
      v = cur - c.rng.small(16);
      break;
    case 2:
      v = rest + c.rng.below(9) - 4;
      break;
    default:
      v = (rest >> 2) + c.rng.below(5) - 2; // a length in 32-bit words (RTP, RTCP, STUN-like)
  }
  if (u16) b.writeUInt16BE(v & 0xffff, o);
  else b[o] = v & 0xff;
  return b;
};

const insertBytes: ByteMutator = (b, c) => {
  const n = c.rng.small(Math.max(1, Math.min(64, c.maxLen - b.length)));
  if (b.length + n > c.maxLen) return b;
  const ins = Buffer.alloc(n);
  const mode = c.rng.below(3);
  if (mode === 0) for (let i = 0; i < n; i++) ins[i] = c.rng.below(256);
  else ins.fill(mode === 1 ? c.rng.pick(INTERESTING_U8) : 0);
  const o = b.length === 0 ? 0 : at(b, c);
  return Buffer.concat([b.subarray(0, o), ins, b.subarray(o)]);
};

const deleteBytes: ByteMutator = (b, c) => {
  if (b.length <= 1) return b;
  const o = at(b, c);
  const n = c.rng.small(b.length - o);
  return Buffer.concat([b.subarray(0, o), b.subarray(o + n)]);
};

const truncate: ByteMutator = (b, c) => (b.length <= 1 ? b : b.subarray(0, c.rng.below(b.length)));

/** Copy a range of the input over itself or into itself (repeated structures: attributes, chunks, blocks). */
const duplicate: ByteMutator = (b, c) => {
  if (b.length < 2) return b;
  const from = at(b, c);
  const n = c.rng.small(Math.min(256, b.length - from));
  const chunk = Buffer.from(b.subarray(from, from + n));
  const to = at(b, c);
  if (c.rng.chance(0.5)) {
    chunk.copy(b, to, 0, Math.min(n, b.length - to));
    return b;
  }
  const times = c.rng.chance(0.1) ? c.rng.small(64) : 1;
  if (b.length + n * times > c.maxLen) return b;
  return Buffer.concat([b.subarray(0, to), ...Array<Buffer>(times).fill(chunk), b.subarray(to)]);
};

/** Prefix of this input, suffix of another corpus entry (or a chunk of it inserted). */
const splice: ByteMutator = (b, c) => {
  if (c.corpus.length === 0) return b;
  const other = c.rng.pick(c.corpus);
  if (other.length === 0) return b;
  if (c.rng.chance(0.5)) {
    const cut = b.length === 0 ? 0 : c.rng.below(b.length);
    const from = c.rng.below(other.length);
    return clampLen(Buffer.concat([b.subarray(0, cut), other.subarray(from)]), c.maxLen);
  }
  const from = c.rng.below(other.length);
  const n = c.rng.small(other.length - from);
  const o = b.length === 0 ? 0 : at(b, c);
  return clampLen(Buffer.concat([b.subarray(0, o), other.subarray(from, from + n), b.subarray(o)]), c.maxLen);
};

const BYTE_MUTATORS: readonly ByteMutator[] = [
  flipBit, flipBit, setByte, setByte, arithByte, setInt, setInt, editLength, editLength, editLength,
  insertBytes, deleteBytes, truncate, duplicate, duplicate, splice, splice,
];

// ---- text ----

function lines(s: string): string[] {
  return s.split(/(?<=\n)/);
}

type TextMutator = (s: string, c: MutationContext) => string;

const lineOp: TextMutator = (s, c) => {
  const ls = lines(s);
  if (ls.length === 0) return s;
  const i = c.rng.below(ls.length);
  switch (c.rng.below(6)) {
    case 0:
      ls.splice(i, 1);
      break;
    case 1:
      ls.splice(c.rng.below(ls.length + 1), 0, ls[i]);
      break;
    case 2: {
      const j = c.rng.below(ls.length);
      [ls[i], ls[j]] = [ls[j], ls[i]];
      break;
    }
    case 3: {
      // One line many times: what makes a parser quadratic shows here (rarely large: big inputs are slow to try).
      const times = c.rng.chance(0.1) ? c.rng.small(4000) : c.rng.small(16);
      const room = Math.floor((c.maxLen - s.length) / Math.max(1, ls[i].length));
      ls.splice(i, 0, ...Array<string>(Math.max(0, Math.min(times, room))).fill(ls[i]));
      break;
    }
    case 4: {
      if (c.corpus.length === 0) break;
      const other = lines(c.rng.pick(c.corpus).toString('latin1'));
      if (other.length) ls.splice(c.rng.below(ls.length + 1), 0, c.rng.pick(other));
      break;
    }
    default:
      ls[i] = ls[i].endsWith('\r\n') ? ls[i].slice(0, -2) + '\n' : ls[i].replace(/\n$/, '\r\n');
  }
  return ls.join('');
};

const numberOp: TextMutator = (s, c) => {
  const re = /-?\d+/g;
  const spots: Array<[number, number]> = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null && spots.length < 512) spots.push([m.index, m[0].length]);
  if (spots.length === 0) return s;
  const [o, n] = c.rng.pick(spots);
  return s.slice(0, o) + c.rng.pick(INTERESTING_NUMBERS) + s.slice(o + n);
};

const textInsert: TextMutator = (s, c) => {
  const o = c.rng.below(s.length + 1);
  let ins = c.rng.pick(INTERESTING_TEXT);
  if (c.rng.chance(0.02)) ins = ins.repeat(c.rng.small(8000));
  return s.slice(0, o) + ins + s.slice(o);
};

/** Swap a separator for another, where the grammar decides the meaning. */
const separatorOp: TextMutator = (s, c) => {
  const seps = [':', ' ', '=', ';', '/', ',', '.', '\r\n'];
  const from = c.rng.pick(seps);
  const idx: number[] = [];
  for (let i = s.indexOf(from); i >= 0 && idx.length < 256; i = s.indexOf(from, i + 1)) idx.push(i);
  if (idx.length === 0) return s;
  const o = c.rng.pick(idx);
  return s.slice(0, o) + c.rng.pick(seps) + s.slice(o + from.length);
};

const TEXT_MUTATORS: readonly TextMutator[] = [lineOp, lineOp, numberOp, numberOp, textInsert, separatorOp];

// ---- JSON ----

function interestingJson(c: MutationContext, depth = 0): unknown {
  switch (c.rng.below(12)) {
    case 0:
      return null;
    case 1:
      return c.rng.chance(0.5);
    case 2:
      return Number(c.rng.pick(INTERESTING_NUMBERS));
    case 3:
      return c.rng.pick([0, -1, 1.5, 4095, 4096, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, Number.MIN_VALUE]);
    case 4:
      return c.rng.pick(INTERESTING_TEXT);
    case 5:
      return 'x'.repeat(c.rng.small(70_000));
    case 6:
      return '';
    case 7:
      return depth < 3 ? [interestingJson(c, depth + 1)] : [];
    case 8:
      return depth < 3 ? { [c.rng.pick(['v', 'id', 'type', 'sdp', 'x', '__proto__', 'constructor'])]: interestingJson(c, depth + 1) } : {};
    case 9: {
      // Deep nesting, for recursive validators.
      let v: unknown = 1;
      for (let i = c.rng.small(5000); i > 0; i--) v = [v];
      return v;
    }
    case 10:
      return Array.from({ length: c.rng.small(2000) }, () => 0);
    default:
      return c.rng.pick(['join', 'move', 'publish', 'subscribe', 'subscriberAnswer', 'report', 'resume', 'ping', 'normal', 'camera', 'HS256', 'none']);
  }
}

/** Every (container, key) in a JSON value, depth-first, bounded. */
function slots(v: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]>, depth = 0): void {
  if (out.length > 2000 || depth > 50 || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && i < 100; i++) {
      out.push([v, i]);
      slots(v[i], out, depth + 1);
    }
  } else {
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      slots((v as Record<string, unknown>)[k], out, depth + 1);
    }
  }
}

function printJson(v: unknown): string | null {
  try {
    return JSON.stringify(v);
  } catch {
    return null; // nested too deep to print: the byte mutators take this one
  }
}

/** Parse, change one value (replace, delete, retype, borrow from another entry, add a key), print. */
function mutateJson(text: string, c: MutationContext): string | null {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return null;
  }
  const all: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  slots(root, all);
  if (all.length === 0 || c.rng.chance(0.03)) return printJson(interestingJson(c));
  const [box, key] = c.rng.pick(all);
  const op = c.rng.below(6);
  if (op === 0 && !Array.isArray(box)) delete (box as Record<string, unknown>)[key as string];
  else if (op === 1 && !Array.isArray(box)) {
    const k = c.rng.pick(['__proto__', 'constructor', 'v', 'id', 'type', 'extra', 'x', 'y', 'sdp', 'tracks']);
    // JSON.parse makes __proto__ an own property; assigning it would not, so define it.
    Object.defineProperty(box, k, { value: interestingJson(c), enumerable: true, writable: true, configurable: true });
  } else if (op === 2 && c.corpus.length > 0) {
    const other: Array<[Record<string, unknown> | unknown[], string | number]> = [];
    try {
      slots(JSON.parse(c.rng.pick(c.corpus).toString('utf8')), other);
    } catch {
      /* the other entry is not JSON */
    }
    if (other.length) {
      const [ob, ok] = c.rng.pick(other);
      (box as Record<string | number, unknown>)[key] = (ob as Record<string | number, unknown>)[ok];
    }
  } else if (op === 3) {
    const cur = (box as Record<string | number, unknown>)[key];
    if (typeof cur === 'number') (box as Record<string | number, unknown>)[key] = String(cur);
    else if (typeof cur === 'string') (box as Record<string | number, unknown>)[key] = Number(cur) || cur.length;
    else (box as Record<string | number, unknown>)[key] = interestingJson(c);
  } else if (op === 4 && Array.isArray(box)) {
    const times = c.rng.small(500);
    for (let i = 0; i < times; i++) box.push(box[key as number]);
  } else (box as Record<string | number, unknown>)[key] = interestingJson(c);
  return printJson(root);
}

// ---- driver ----

/** One mutated input: 1..8 stacked mutations (most often 1–2), chosen by the input's kind. */
export function mutate(input: Buffer, c: MutationContext): Buffer {
  let b: Buffer = Buffer.from(input);
  const stack = c.rng.small(8);
  for (let k = 0; k < stack; k++) {
    const r = c.rng.u32() / 0x1_0000_0000;
    if (c.kind === 'json' && r < 0.5) {
      const head = b.subarray(0, c.headerBytes);
      const j = mutateJson(b.toString('utf8', c.headerBytes), c);
      if (j !== null) {
        b = clampLen(Buffer.concat([head, Buffer.from(j, 'utf8')]), c.maxLen);
        continue;
      }
    }
    if (c.kind !== 'bytes' && r < 0.75) {
      const head = b.subarray(0, c.headerBytes);
      const t = c.rng.pick(TEXT_MUTATORS)(b.toString('latin1', c.headerBytes), c);
      b = clampLen(Buffer.concat([head, Buffer.from(t, 'latin1')]), c.maxLen);
      continue;
    }
    b = clampLen(c.rng.pick(BYTE_MUTATORS)(b, c), c.maxLen);
  }
  return b;
}
