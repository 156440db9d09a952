import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionWriter, RtpView, writeRtpHeader } from './rtp-packet.ts';
import { youngBytesAllocated } from './test-alloc.ts';

/** Hand-assembles an RTP packet so the parser is not tested against its own writer only. */
function rtp(opts: {
  b0?: number;
  pt?: number;
  marker?: boolean;
  seq?: number;
  ts?: number;
  ssrc?: number;
  csrcs?: number[];
  ext?: { profile: number; data: number[]; words?: number };
  payload?: number[];
  padding?: number;
}): Buffer {
  const csrcs = opts.csrcs ?? [];
  const parts: number[] = [];
  const x = opts.ext ? 0x10 : 0;
  const p = opts.padding ? 0x20 : 0;
  parts.push(opts.b0 ?? (0x80 | p | x | csrcs.length));
  parts.push((opts.marker ? 0x80 : 0) | (opts.pt ?? 96));
  const seq = opts.seq ?? 1;
  parts.push(seq >> 8, seq & 0xff);
  const u32 = (v: number) => parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  u32(opts.ts ?? 1000);
  u32(opts.ssrc ?? 0x11223344);
  for (const c of csrcs) u32(c);
  if (opts.ext) {
    const words = opts.ext.words ?? Math.ceil(opts.ext.data.length / 4);
    parts.push(opts.ext.profile >> 8, opts.ext.profile & 0xff, words >> 8, words & 0xff);
    const d = [...opts.ext.data];
    while (d.length % 4) d.push(0);
    parts.push(...d);
  }
  parts.push(...(opts.payload ?? [1, 2, 3, 4]));
  if (opts.padding) {
    for (let i = 0; i < opts.padding - 1; i++) parts.push(0);
    parts.push(opts.padding);
  }
  return Buffer.from(parts);
}

test('parses header fields', () => {
  const v = new RtpView();
  const b = rtp({ pt: 111, marker: true, seq: 65535, ts: 0xfffffffe, ssrc: 0xdeadbeef, payload: [9, 8, 7] });
  assert.equal(v.parse(b), null);
  assert.equal(v.marker, true);
  assert.equal(v.payloadType, 111);
  assert.equal(v.sequenceNumber, 65535);
  assert.equal(v.timestamp, 0xfffffffe);
  assert.equal(v.ssrc, 0xdeadbeef);
  assert.equal(v.headerLength, 12);
  assert.equal(v.payloadOffset, 12);
  assert.equal(v.payloadLength, 3);
  assert.equal(v.paddingLength, 0);
  assert.equal(v.hasExtension, false);
  assert.equal(v.isPaddingOnly(), false);
});

test('valid variants: csrc, padding, extension, length argument', () => {
  const cases: Array<{ name: string; buf: Buffer; len?: number; hl: number; pl: number; pad: number }> = [
    { name: 'two csrcs', buf: rtp({ csrcs: [1, 2] }), hl: 20, pl: 4, pad: 0 },
    { name: 'padding 3', buf: rtp({ padding: 3 }), hl: 12, pl: 4, pad: 3 },
    { name: 'padding only', buf: rtp({ payload: [], padding: 8 }), hl: 12, pl: 0, pad: 8 },
    { name: 'one-byte ext', buf: rtp({ ext: { profile: 0xbede, data: [0x11, 0xaa, 0xbb] } }), hl: 20, pl: 4, pad: 0 },
    { name: 'csrc+ext+pad', buf: rtp({ csrcs: [7], ext: { profile: 0xbede, data: [0x20, 1] }, padding: 4 }), hl: 24, pl: 4, pad: 4 },
    { name: 'trailing bytes beyond length', buf: Buffer.concat([rtp({}), Buffer.alloc(10, 0xff)]), len: 16, hl: 12, pl: 4, pad: 0 },
  ];
  const v = new RtpView();
  for (const c of cases) {
    assert.equal(v.parse(c.buf, c.len), null, c.name);
    assert.equal(v.headerLength, c.hl, c.name);
    assert.equal(v.payloadLength, c.pl, c.name);
    assert.equal(v.paddingLength, c.pad, c.name);
    assert.equal(v.isPaddingOnly(), c.pl === 0, c.name);
  }
});

test('malformed packets return drop reasons', () => {
  const cases: Array<{ name: string; buf: Buffer; len?: number; want: string }> = [
    { name: 'too short', buf: Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0]), want: 'rtp_malformed' },
    { name: 'length beyond buffer', buf: rtp({}), len: 100, want: 'rtp_malformed' },
    { name: 'version 1', buf: rtp({ b0: 0x40 }), want: 'rtp_bad_version' },
    { name: 'version 0', buf: rtp({ b0: 0x00 }), want: 'rtp_bad_version' },
    { name: 'csrc count overrun', buf: rtp({ b0: 0x8f }), want: 'rtp_malformed' },
    { name: 'padding zero', buf: Buffer.concat([rtp({ b0: 0xa0 }).subarray(0, 15), Buffer.from([0])]), want: 'rtp_bad_padding' },
    { name: 'padding > payload', buf: Buffer.concat([rtp({ b0: 0xa0 }).subarray(0, 15), Buffer.from([5])]), want: 'rtp_bad_padding' },
    { name: 'ext header truncated', buf: rtp({ b0: 0x90, payload: [0xbe, 0xde] }), want: 'rtp_bad_extension' },
    { name: 'ext length overrun', buf: rtp({ ext: { profile: 0xbede, data: [0x10, 1], words: 9 } }), want: 'rtp_bad_extension' },
    { name: 'one-byte element overrun', buf: rtp({ ext: { profile: 0xbede, data: [0x10, 1, 0, 0x3f] }, payload: [] }), want: 'rtp_bad_extension' },
    { name: 'two-byte element overrun', buf: rtp({ ext: { profile: 0x1000, data: [1, 9, 0, 0] } }), want: 'rtp_bad_extension' },
  ];
  const v = new RtpView();
  for (const c of cases) assert.equal(v.parse(c.buf, c.len), c.want, c.name);
});

test('findExtension: one-byte form with padding bytes and stop id', () => {
  const v = new RtpView();
  // id1 len2 [0xaa,0xbb], pad 0, id3 len1 [0x7f], id15 stops parsing, (id4 after stop must not be found)
  const b = rtp({ ext: { profile: 0xbede, data: [0x11, 0xaa, 0xbb, 0x00, 0x30, 0x7f, 0xf0, 0x40, 0x55] } });
  assert.equal(v.parse(b), null);
  const o1 = v.findExtension(1);
  assert.equal(v.lastExtLength, 2);
  assert.deepEqual([...b.subarray(o1, o1 + 2)], [0xaa, 0xbb]);
  const o3 = v.findExtension(3);
  assert.equal(v.lastExtLength, 1);
  assert.equal(b[o3], 0x7f);
  assert.equal(v.findExtension(4), -1);
  assert.equal(v.findExtension(2), -1);
  assert.equal(v.findExtension(0), -1);
  assert.equal(v.findExtension(15), -1);
});

test('findExtension: two-byte form including zero-length and id > 14', () => {
  const v = new RtpView();
  const b = rtp({ ext: { profile: 0x1000, data: [5, 0, 0, 200, 3, 1, 2, 3] } });
  assert.equal(v.parse(b), null);
  assert.equal(v.findExtension(5) > 0, true);
  assert.equal(v.lastExtLength, 0);
  const o = v.findExtension(200);
  assert.equal(v.lastExtLength, 3);
  assert.deepEqual([...b.subarray(o, o + 3)], [1, 2, 3]);
  assert.equal(v.findExtension(6), -1);
});

test('findExtension on packet without extension / unknown profile', () => {
  const v = new RtpView();
  assert.equal(v.parse(rtp({})), null);
  assert.equal(v.findExtension(1), -1);
  assert.equal(v.parse(rtp({ ext: { profile: 0x1234, data: [0x10, 1] } })), null);
  assert.equal(v.findExtension(1), -1);
});

test('writeRtpHeader + ExtensionWriter round trip', () => {
  const w = new ExtensionWriter();
  const out = Buffer.alloc(1500);
  const v = new RtpView();
  const cases = [
    { ext: null as ExtensionWriter | null, setup: () => {}, hl: 12 },
    { ext: w, setup: () => w.clear(), hl: 12 }, // empty writer: no X bit
    { ext: w, setup: () => { w.clear(); w.setTransportSeq(3, 0xabcd); }, hl: 12 + 4 + 4 },
    {
      ext: w,
      setup: () => {
        w.clear();
        w.setTransportSeq(3, 0x1234);
        w.setAbsSendTime(2, 0xabcdef);
        w.setAudioLevel(1, true, 42);
        w.setMid(4, 'video0');
      },
      hl: 12 + 4 + 16, // elements 3+4+2+7 = 16 bytes, already 32-bit aligned
    },
  ];
  for (const [i, c] of cases.entries()) {
    c.setup();
    const hl = writeRtpHeader(out, 0, { marker: true, payloadType: 100, sequenceNumber: 777, timestamp: 0x89abcdef, ssrc: 42 }, c.ext);
    out.set([5, 6, 7], hl);
    assert.equal(hl, c.hl, `case ${i}`);
    assert.equal(hl % 4, 0);
    assert.equal(v.parse(out, hl + 3), null, `case ${i}`);
    assert.equal(v.headerLength, hl);
    assert.equal(v.marker, true);
    assert.equal(v.payloadType, 100);
    assert.equal(v.sequenceNumber, 777);
    assert.equal(v.timestamp, 0x89abcdef);
    assert.equal(v.ssrc, 42);
    assert.equal(v.payloadLength, 3);
  }
  // Last case: all four elements readable.
  const o3 = v.findExtension(3);
  assert.equal(out.readUInt16BE(o3), 0x1234);
  const o2 = v.findExtension(2);
  assert.equal(out.readUIntBE(o2, 3), 0xabcdef);
  assert.equal(out[v.findExtension(1)], 0x80 | 42);
  const o4 = v.findExtension(4);
  assert.equal(out.toString('utf8', o4, o4 + v.lastExtLength), 'video0');
});

test('ExtensionWriter rejects invalid ids and lengths, replaces same id', () => {
  const w = new ExtensionWriter();
  assert.equal(w.setTransportSeq(0, 1), false);
  assert.equal(w.setTransportSeq(15, 1), false);
  assert.equal(w.setMid(1, ''), false);
  assert.equal(w.setMid(1, 'x'.repeat(17)), false);
  assert.equal(w.count, 0);
  assert.equal(w.setTransportSeq(5, 1), true);
  assert.equal(w.setTransportSeq(5, 2), true);
  assert.equal(w.count, 1);
  for (let id = 6; id <= 12; id++) assert.equal(w.setAudioLevel(id, false, 1), true);
  assert.equal(w.count, 8);
  assert.equal(w.setAudioLevel(13, false, 1), false, 'full');
});

test('RtpView.parse + findExtension allocate nothing per packet', () => {
  const v = new RtpView();
  // Timestamps/SSRCs above 2^31 are not small integers in V8; they must not box per packet either.
  const pkts = [
    rtp({ seq: 1, ts: 0xfffffff0, ssrc: 0xf0000001, ext: { profile: 0xbede, data: [0x21, 1, 2] } }),
    rtp({ seq: 2, ts: 5, padding: 4 }),
  ];
  let sum = 0;
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++) {
      if (v.parse(pkts[i & 1]) === null) sum += v.sequenceNumber + v.findExtension(2);
    }
  });
  assert.ok(sum > 0);
  // One escaping 16-byte object per packet would be >= 160 kB.
  assert.ok(bytes < 64_000, `young generation grew ${bytes} bytes`);
});

test('detector sanity: the probe sees per-call allocations', () => {
  const sink: { o: unknown } = { o: null };
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++) sink.o = { i };
  });
  assert.ok(bytes >= 64_000, `probe saw only ${bytes} bytes`);
});

test('writeRtpHeader with a reused ExtensionWriter allocates nothing', () => {
  const w = new ExtensionWriter();
  const out = Buffer.alloc(1500);
  const h = { marker: false, payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 1 };
  let n = 0;
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++) {
      w.clear();
      w.setTransportSeq(3, i & 0xffff);
      w.setAbsSendTime(2, i);
      w.setMid(1, '0');
      h.sequenceNumber = i & 0xffff;
      n += writeRtpHeader(out, 0, h, w);
    }
  });
  assert.ok(n > 0);
  assert.ok(bytes < 64_000, `young generation grew ${bytes} bytes`);
});
