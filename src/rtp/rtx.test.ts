import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionWriter, RtpView, writeRtpHeader } from './rtp-packet.ts';
import { rtxOriginalSeq, unwrapRtxInPlace, writeRtx } from './rtx.ts';
import { readTransportSeq } from './header-extensions.ts';

function original(ext: ExtensionWriter | null, payload: number[], padding = 0): Buffer {
  const out = Buffer.alloc(300);
  const hl = writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: 4000, timestamp: 123456, ssrc: 0xaaaa }, ext);
  out.set(payload, hl);
  let len = hl + payload.length;
  if (padding) {
    out[0] |= 0x20;
    out[len + padding - 1] = padding;
    len += padding;
  }
  return out.subarray(0, len);
}

test('writeRtx then unwrapRtxInPlace restores the original packet', () => {
  const w = new ExtensionWriter();
  const cases = [
    { name: 'no ext', ext: null, payload: [1, 2, 3, 4, 5] },
    { name: 'with ext', ext: w, payload: [9, 9] },
    { name: 'padded original', ext: null, payload: [7, 7, 7], padding: 5 },
  ];
  for (const c of cases) {
    w.clear();
    w.setTransportSeq(1, 321);
    const orig = new RtpView();
    assert.equal(orig.parse(original(c.ext, c.payload, c.padding)), null, c.name);
    const out = Buffer.alloc(400);
    const n = writeRtx(out, 0, orig, { payloadType: 97, sequenceNumber: 50, ssrc: 0xbbbb }, c.ext);
    const v = new RtpView();
    assert.equal(v.parse(out, n), null, c.name);
    assert.equal(v.payloadType, 97);
    assert.equal(v.ssrc, 0xbbbb);
    assert.equal(v.sequenceNumber, 50);
    assert.equal(v.timestamp, 123456);
    assert.equal(rtxOriginalSeq(v), 4000);
    assert.equal(unwrapRtxInPlace(v, 0xaaaa, 96), null, c.name);
    assert.equal(v.start, 2);
    assert.equal(v.payloadType, 96);
    assert.equal(v.ssrc, 0xaaaa);
    assert.equal(v.sequenceNumber, 4000);
    assert.equal(v.timestamp, 123456);
    assert.equal(v.marker, true);
    assert.deepEqual([...v.buf.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)], c.payload, c.name);
    if (c.ext) assert.equal(readTransportSeq(v, 1), 321);
  }
});

test('unwrap keeps RTX padding and handles a padded RTX packet', () => {
  const b = Buffer.from([0xa0, 97, 0, 9, 0, 0, 0, 5, 0, 0, 0, 7, 0x01, 0x02, 0xcc, 0, 0, 3]);
  const v = new RtpView();
  assert.equal(v.parse(b), null);
  assert.equal(unwrapRtxInPlace(v, 99, 96), null);
  assert.equal(v.sequenceNumber, 0x0102);
  assert.equal(v.payloadLength, 1);
  assert.equal(v.buf[v.payloadOffset], 0xcc);
  assert.equal(v.paddingLength, 3);
});

test('RTX with payload shorter than the OSN is rejected', () => {
  const v = new RtpView();
  for (const payload of [[], [1]]) {
    const b = Buffer.from([0x80, 97, 0, 9, 0, 0, 0, 5, 0, 0, 0, 7, ...payload]);
    assert.equal(v.parse(b), null);
    assert.equal(rtxOriginalSeq(v), -1);
    assert.equal(unwrapRtxInPlace(v, 1, 96), 'rtx_malformed');
  }
  // An RTX packet with an empty original payload (just the OSN) is valid.
  assert.equal(v.parse(Buffer.from([0x80, 97, 0, 9, 0, 0, 0, 5, 0, 0, 0, 7, 0, 1])), null);
  assert.equal(unwrapRtxInPlace(v, 1, 96), null);
  assert.equal(v.payloadLength, 0);
});

test('writeRtx refuses a too-small output buffer', () => {
  const orig = new RtpView();
  assert.equal(orig.parse(original(null, [1, 2, 3])), null);
  assert.equal(writeRtx(Buffer.alloc(16), 0, orig, { payloadType: 97, sequenceNumber: 1, ssrc: 1 }, null), -1);
});
