/**
 * IVF container reader (the simple framing libvpx and ffmpeg write VP8 into). There is no RFC; the layout is
 * the de-facto one from libvpx: a 32-byte file header, then per frame a 12-byte header and the frame.
 */
import { readFile } from 'node:fs/promises';

export interface IvfFrame {
  /** The VP8 frame; a view into the parsed buffer (not a copy). */
  data: Buffer;
  pts: number;
}

export interface IvfFile {
  width: number;
  height: number;
  /** Timestamps are in units of timebaseNum / timebaseDen seconds (ffmpeg writes 1/fps). */
  timebaseNum: number;
  timebaseDen: number;
  frames: IvfFrame[];
}

const FILE_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 12;

/** Parses a whole IVF file. Throws an Error naming the problem on malformed input. */
export function parseIvf(buf: Buffer, name = 'IVF input'): IvfFile {
  if (buf.length < FILE_HEADER_BYTES) throw new Error(`${name}: too short for an IVF header (${buf.length} bytes)`);
  if (buf.toString('latin1', 0, 4) !== 'DKIF') throw new Error(`${name}: bad magic, not an IVF file`);
  const version = buf.readUInt16LE(4);
  if (version !== 0) throw new Error(`${name}: unsupported IVF version ${version}`);
  const headerSize = buf.readUInt16LE(6);
  if (headerSize < FILE_HEADER_BYTES || headerSize > buf.length) throw new Error(`${name}: bad IVF header size ${headerSize}`);
  const fourcc = buf.toString('latin1', 8, 12);
  if (fourcc !== 'VP80') throw new Error(`${name}: codec fourcc is '${fourcc}', expected 'VP80'`);
  const width = buf.readUInt16LE(12);
  const height = buf.readUInt16LE(14);
  // Offset 16 is the rate (timebase denominator), 20 the scale (numerator).
  const timebaseDen = buf.readUInt32LE(16);
  const timebaseNum = buf.readUInt32LE(20);
  if (timebaseDen === 0 || timebaseNum === 0) throw new Error(`${name}: zero timebase ${timebaseNum}/${timebaseDen}`);
  // The frame count at offset 24 is not trusted: writers that cannot seek leave it 0.
  const frames: IvfFrame[] = [];
  let off = headerSize;
  while (off < buf.length) {
    if (off + FRAME_HEADER_BYTES > buf.length) throw new Error(`${name}: truncated frame header at byte ${off} (frame ${frames.length})`);
    const size = buf.readUInt32LE(off);
    const pts = Number(buf.readBigInt64LE(off + 4));
    const start = off + FRAME_HEADER_BYTES;
    if (size === 0) throw new Error(`${name}: empty frame ${frames.length} at byte ${off}`);
    if (start + size > buf.length) {
      throw new Error(`${name}: truncated frame ${frames.length}: needs ${size} bytes, ${buf.length - start} left`);
    }
    frames.push({ data: buf.subarray(start, start + size), pts });
    off = start + size;
  }
  return { width, height, timebaseNum, timebaseDen, frames };
}

export async function readIvfFile(path: string): Promise<IvfFile> {
  return parseIvf(await readFile(path), path);
}
