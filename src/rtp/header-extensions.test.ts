import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionWriter, RtpView, writeRtpHeader } from './rtp-packet.ts';
import {
  extBytesEqual,
  readAbsSendTime,
  readAudioLevel,
  readStringExt,
  readTransportSeq,
} from './header-extensions.ts';

const hdr = { marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3 };

function packetWith(setup: (w: ExtensionWriter) => void): RtpView {
  const w = new ExtensionWriter();
  setup(w);
  const out = Buffer.alloc(200);
  const hl = writeRtpHeader(out, 0, hdr, w);
  const v = new RtpView();
  assert.equal(v.parse(out, hl + 10), null);
  return v;
}

test('readers return values written by ExtensionWriter', () => {
  const v = packetWith((w) => {
    w.setTransportSeq(5, 65535);
    w.setAbsSendTime(3, 0xfedcba);
    w.setAudioLevel(1, true, 127);
    w.setMid(9, 'a');
    w.setMid(10, 'hi-res');
  });
  assert.equal(readTransportSeq(v, 5), 65535);
  assert.equal(readAbsSendTime(v, 3), 0xfedcba);
  assert.equal(readAudioLevel(v, 1), 0xff);
  assert.equal(readStringExt(v, 9), 'a');
  assert.equal(readStringExt(v, 10), 'hi-res');
});

test('readers return -1/null when absent or too short', () => {
  const v = packetWith((w) => w.setAudioLevel(5, false, 30));
  const cases: Array<[string, unknown, unknown]> = [
    ['tseq absent', readTransportSeq(v, 4), -1],
    ['tseq too short (1 byte element)', readTransportSeq(v, 5), -1],
    ['abs-send-time too short', readAbsSendTime(v, 5), -1],
    ['audio level', readAudioLevel(v, 5), 30],
    ['audio level absent', readAudioLevel(v, 6), -1],
    ['string absent', readStringExt(v, 7), null],
    ['id 0', readTransportSeq(v, 0), -1],
    ['not negotiated', readAudioLevel(v, undefined), -1],
    ['string not negotiated', readStringExt(v, undefined), null],
  ];
  for (const [name, got, want] of cases) assert.equal(got, want, name);
});

test('readers over a two-byte-form packet', () => {
  const b = Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x10, 0x00, 0, 2, 20, 2, 0x12, 0x34, 21, 2, 0x68, 0x69, 0xee]);
  const v = new RtpView();
  assert.equal(v.parse(b), null);
  assert.equal(readTransportSeq(v, 20), 0x1234);
  assert.equal(readStringExt(v, 21), 'hi');
});

test('extBytesEqual compares a rid in place, byte for byte and length', () => {
  const v = packetWith((w) => w.setMid(10, 'hi'));
  const o = v.findExtension(10);
  const len = v.lastExtLength;
  assert.equal(extBytesEqual(v, o, len, Buffer.from('hi')), true);
  assert.equal(extBytesEqual(v, o, len, Buffer.from('h')), false);
  assert.equal(extBytesEqual(v, o, len, Buffer.from('ho')), false);
  assert.equal(extBytesEqual(v, -1, 0, Buffer.from('')), false, 'absent');
});

test('dataOffset names where a value lands, so a sender can patch it after writing', () => {
  const w = new ExtensionWriter();
  w.setAudioLevel(4, false, 10);
  w.setMid(9, 'abc');
  w.setTransportSeq(3, 0);
  assert.equal(w.dataOffset(7), -1);
  const out = Buffer.alloc(200);
  const hl = writeRtpHeader(out, 0, hdr, w);
  const at = 12 + w.dataOffset(3);
  out.writeUInt16BE(4242, at);
  const v = new RtpView();
  assert.equal(v.parse(out, hl + 10), null);
  assert.equal(readTransportSeq(v, 3), 4242);
  assert.equal(readStringExt(v, 9), 'abc');
  assert.equal(readAudioLevel(v, 4), 10);
});
