import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { oggPageCrc, opusPacketSamples, parseOggOpus, parseOggPackets, readOggOpusFile } from './ogg-opus.ts';

const FIXTURE = new URL('./fixtures/clip-1s.ogg', import.meta.url);
const fixture = readFileSync(FIXTURE);

/** Builds one Ogg page (RFC 3533 §6) with a valid CRC. */
function page(flags: number, seq: number, lacing: number[], body: Buffer, serial = 7): Buffer {
  const h = Buffer.alloc(27 + lacing.length);
  h.write('OggS', 0, 'latin1');
  h[5] = flags;
  h.writeUInt32LE(serial, 14);
  h.writeUInt32LE(seq, 18);
  h[26] = lacing.length;
  lacing.forEach((l, i) => (h[27 + i] = l));
  const p = Buffer.concat([h, body]);
  p.writeUInt32LE(oggPageCrc(p, 0, p.length), 22);
  return p;
}

/** Lacing values for one whole packet (RFC 3533 §5: 255s then a final value < 255). */
function lace(len: number): number[] {
  return [...Array<number>(Math.floor(len / 255)).fill(255), len % 255];
}

function opusHead(): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = 2;
  b.writeUInt16LE(312, 10);
  b.writeUInt32LE(44100, 12);
  return b;
}
const opusTags = Buffer.from('OpusTags\x00\x00\x00\x00\x00\x00\x00\x00', 'latin1');
const headerPages = () => [page(0x02, 0, lace(19), opusHead()), page(0x00, 1, lace(16), opusTags)];

function filled(len: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff));
}

test('CRC matches the check value of CRC-32 poly 0x04c11db7, init 0, unreflected, no final XOR', () => {
  // CRC-32/CKSUM's check value is 0x765e7680 with a final XOR of 0xffffffff; Ogg has none.
  assert.equal(oggPageCrc(Buffer.from('123456789'), 0, 9), ~0x765e7680 >>> 0);
});

test('reads the committed fixture: 51 packets of 20 ms after OpusHead and OpusTags', async () => {
  const ogg = await readOggOpusFile(FIXTURE.pathname);
  assert.equal(ogg.channels, 1);
  assert.equal(ogg.preSkip, 312);
  assert.equal(ogg.inputSampleRate, 48000);
  // 1 s of audio plus the encoder's 312-sample pre-skip spills into one more packet.
  assert.equal(ogg.packets.length, 51);
  for (const p of ogg.packets) {
    assert.equal(opusPacketSamples(p), 960);
    assert.ok(p.length > 0 && p.length < 255);
  }
});

test('reassembles packets across pages and exact multiples of 255', () => {
  const a = filled(600, 1); // spans pages 2 and 3
  const b = filled(255, 2); // 255 bytes: lacing 255, 0
  const c = filled(10, 3);
  const file = Buffer.concat([
    ...headerPages(),
    page(0x00, 2, [255, 255], a.subarray(0, 510)),
    page(0x01, 3, [90, ...lace(255), ...lace(10)], Buffer.concat([a.subarray(510), b, c])),
    page(0x02, 0, lace(5), filled(5, 9), 99), // another logical stream: ignored
    page(0x04, 4, lace(3), filled(3, 4)),
  ]);
  const ogg = parseOggOpus(file);
  assert.equal(ogg.channels, 2);
  assert.equal(ogg.inputSampleRate, 44100);
  assert.deepEqual(ogg.packets, [a, b, c, filled(3, 4)]);
  // A packet ending exactly on a page boundary with a 255 lacing value continues with a 0 on the next page.
  const d = filled(255, 5);
  const f2 = Buffer.concat([...headerPages(), page(0x00, 2, [255], d), page(0x05, 3, [0], Buffer.alloc(0))]);
  assert.deepEqual(parseOggOpus(f2).packets, [d]);
});

test('rejects malformed input with a clear error', () => {
  assert.throws(() => parseOggOpus(Buffer.alloc(0)), /empty file/);
  const bad = Buffer.from(fixture);
  bad.write('OggT', 0, 'latin1');
  assert.throws(() => parseOggOpus(bad), /bad capture pattern at byte 0/);
  const v = Buffer.from(fixture);
  v[4] = 1;
  assert.throws(() => parseOggOpus(v), /unsupported Ogg version 1/);
  const crc = Buffer.from(fixture);
  crc[crc.length - 1] ^= 0x40;
  assert.throws(() => parseOggOpus(crc), /CRC mismatch/);
  // Same corruption passes when CRC checking is off.
  assert.equal(parseOggOpus(crc, 'x', { verifyCrc: false }).packets.length, 51);
  assert.throws(() => parseOggOpus(fixture.subarray(0, fixture.length - 10)), /truncated page/);
  assert.throws(() => parseOggOpus(fixture.subarray(0, 20)), /truncated page header/);

  const h = headerPages();
  assert.throws(() => parseOggPackets(Buffer.concat([h[1]])), /beginning-of-stream/);
  assert.throws(() => parseOggPackets(Buffer.concat([h[0], page(0, 2, [1], Buffer.alloc(1))])), /sequence 2 where 1 was expected/);
  assert.throws(() => parseOggPackets(Buffer.concat([h[0], page(0x01, 1, [1], Buffer.alloc(1))])), /continues a packet that never started/);
  assert.throws(
    () => parseOggPackets(Buffer.concat([h[0], page(0, 1, [255], filled(255, 0)), page(0, 2, [1], Buffer.alloc(1))])),
    /does not continue the unfinished packet/,
  );
  assert.throws(() => parseOggPackets(Buffer.concat([h[0], page(0, 1, [255], filled(255, 0))])), /ends inside a packet/);
  const vorbis = page(0x02, 0, lace(7), Buffer.from('\x01vorbis', 'latin1'));
  assert.throws(() => parseOggOpus(vorbis, 'a.ogg'), /a\.ogg: first packet is not an OpusHead/);
  assert.throws(() => parseOggOpus(h[0]), /second packet is not an OpusTags/);
});

test('Opus packet durations from the TOC byte (RFC 6716 §3.1)', () => {
  assert.equal(opusPacketSamples(Buffer.from([31 << 3])), 960); // CELT 20 ms, one frame
  assert.equal(opusPacketSamples(Buffer.from([(30 << 3) | 1])), 960); // CELT 10 ms, two equal frames
  assert.equal(opusPacketSamples(Buffer.from([(1 << 3) | 2])), 1920); // SILK 20 ms, two frames
  assert.equal(opusPacketSamples(Buffer.from([(13 << 3) | 0])), 960); // Hybrid 20 ms
  assert.equal(opusPacketSamples(Buffer.from([(16 << 3) | 3, 0x03])), 360); // CELT 2.5 ms ×3
  assert.equal(opusPacketSamples(Buffer.from([(3 << 3) | 0])), 2880); // SILK 60 ms
  assert.throws(() => opusPacketSamples(Buffer.alloc(0)), /empty Opus packet/);
  assert.throws(() => opusPacketSamples(Buffer.from([3])), /truncated/);
});
