/**
 * Ogg (RFC 3533) reader that returns the Opus packets of the first logical stream (RFC 7845), plus the
 * Opus TOC arithmetic (RFC 6716 §3.1) needed to check packet durations.
 */
import { readFile } from 'node:fs/promises';

export interface OggOpus {
  channels: number;
  /** Samples at 48 kHz the decoder drops at the start (RFC 7845 §5.1). */
  preSkip: number;
  inputSampleRate: number;
  /** Audio packets, OpusHead and OpusTags removed. Single-page packets are views into the input. */
  packets: Buffer[];
}

// RFC 3533 §6: CRC-32, generator 0x04c11db7, no reflection, initial value 0, no final XOR, computed over
// the whole page with the checksum field set to zero.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg page checksum of buf[start, end), treating bytes 22..25 of the page (the CRC field) as zero. */
export function oggPageCrc(buf: Buffer, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    const byte = i >= start + 22 && i < start + 26 ? 0 : buf[i];
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  }
  return crc;
}

const PAGE_HEADER_BYTES = 27;
const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;

/** Splits an Ogg file into the packets of its first logical stream. */
export function parseOggPackets(buf: Buffer, name = 'Ogg input', opts: { verifyCrc?: boolean } = {}): Buffer[] {
  const verifyCrc = opts.verifyCrc ?? true;
  const packets: Buffer[] = [];
  let serial = -1;
  let expectSeq = 0;
  // Segments of a packet that continues on the next page (last lacing value 255, RFC 3533 §5).
  let pending: Buffer[] = [];
  let off = 0;
  if (buf.length === 0) throw new Error(`${name}: empty file`);
  while (off < buf.length) {
    if (off + PAGE_HEADER_BYTES > buf.length) throw new Error(`${name}: truncated page header at byte ${off}`);
    if (buf.toString('latin1', off, off + 4) !== 'OggS') throw new Error(`${name}: bad capture pattern at byte ${off}, not an Ogg page`);
    const version = buf[off + 4];
    if (version !== 0) throw new Error(`${name}: unsupported Ogg version ${version} at byte ${off}`);
    const flags = buf[off + 5];
    const pageSerial = buf.readUInt32LE(off + 14);
    const seq = buf.readUInt32LE(off + 18);
    const crc = buf.readUInt32LE(off + 22);
    const nSegs = buf[off + 26];
    const lacingStart = off + PAGE_HEADER_BYTES;
    if (lacingStart + nSegs > buf.length) throw new Error(`${name}: truncated lacing table at byte ${off}`);
    let bodyLen = 0;
    for (let i = 0; i < nSegs; i++) bodyLen += buf[lacingStart + i];
    const bodyStart = lacingStart + nSegs;
    const pageEnd = bodyStart + bodyLen;
    if (pageEnd > buf.length) throw new Error(`${name}: truncated page at byte ${off}: body needs ${bodyLen} bytes, ${buf.length - bodyStart} left`);
    if (verifyCrc) {
      const got = oggPageCrc(buf, off, pageEnd);
      if (got !== crc) throw new Error(`${name}: CRC mismatch on page ${seq} at byte ${off} (stored ${crc.toString(16)}, computed ${got.toString(16)})`);
    }
    if (serial === -1) {
      if (!(flags & FLAG_BOS)) throw new Error(`${name}: first page lacks the beginning-of-stream flag`);
      serial = pageSerial;
    }
    if (pageSerial === serial) {
      // Other logical streams (multiplexed or chained) are skipped.
      if (seq !== expectSeq) throw new Error(`${name}: page sequence ${seq} where ${expectSeq} was expected (missing page?)`);
      expectSeq = seq + 1;
      const continued = (flags & FLAG_CONTINUED) !== 0;
      if (continued && pending.length === 0) throw new Error(`${name}: page ${seq} continues a packet that never started`);
      if (!continued && pending.length > 0) throw new Error(`${name}: page ${seq} does not continue the unfinished packet of page ${seq - 1}`);
      let segStart = bodyStart;
      let pos = bodyStart;
      for (let i = 0; i < nSegs; i++) {
        const lacing = buf[lacingStart + i];
        pos += lacing;
        if (lacing < 255) {
          // Packet ends here.
          const piece = buf.subarray(segStart, pos);
          if (pending.length > 0) {
            pending.push(piece);
            packets.push(Buffer.concat(pending));
            pending = [];
          } else {
            packets.push(piece);
          }
          segStart = pos;
        }
      }
      // Trailing 255-valued segments: the packet continues on the next page.
      if (segStart < pos) pending.push(buf.subarray(segStart, pos));
    }
    off = pageEnd;
  }
  if (pending.length > 0) throw new Error(`${name}: file ends inside a packet (truncated?)`);
  return packets;
}

/** Parses an Ogg Opus file: checks OpusHead / OpusTags (RFC 7845 §5) and returns the audio packets. */
export function parseOggOpus(buf: Buffer, name = 'Ogg Opus input', opts: { verifyCrc?: boolean } = {}): OggOpus {
  const all = parseOggPackets(buf, name, opts);
  const head = all[0];
  if (!head || head.length < 19 || head.toString('latin1', 0, 8) !== 'OpusHead') throw new Error(`${name}: first packet is not an OpusHead header (not Opus?)`);
  const version = head[8];
  // §5.1: only the major version (upper nibble) must match.
  if (version >> 4 !== 0) throw new Error(`${name}: unsupported OpusHead version ${version}`);
  const channels = head[9];
  if (channels === 0) throw new Error(`${name}: OpusHead says 0 channels`);
  const tags = all[1];
  if (!tags || tags.length < 8 || tags.toString('latin1', 0, 8) !== 'OpusTags') throw new Error(`${name}: second packet is not an OpusTags header`);
  return {
    channels,
    preSkip: head.readUInt16LE(10),
    inputSampleRate: head.readUInt32LE(12),
    packets: all.slice(2),
  };
}

export async function readOggOpusFile(path: string): Promise<OggOpus> {
  return parseOggOpus(await readFile(path), path);
}

/** Frame size in 48 kHz samples for TOC config 0..31 (RFC 6716 §3.1, Table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]; // SILK: 10/20/40/60 ms
  if (config < 16) return [480, 960][config & 1]; // Hybrid: 10/20 ms
  return [120, 240, 480, 960][config & 3]; // CELT: 2.5/5/10/20 ms
}

/** Duration of an Opus packet in 48 kHz samples, from its TOC byte (and frame count byte for code 3). */
export function opusPacketSamples(packet: Buffer): number {
  if (packet.length < 1) throw new Error('empty Opus packet');
  const toc = packet[0];
  const per = frameSamples(toc >> 3);
  switch (toc & 3) {
    case 0:
      return per;
    case 1:
    case 2:
      return 2 * per;
    default:
      // §3.2.5: code 3 carries the frame count M in the low 6 bits of the second byte.
      if (packet.length < 2) throw new Error('truncated Opus code 3 packet');
      return (packet[1] & 0x3f) * per;
  }
}
