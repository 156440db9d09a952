import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpContext } from './srtp-context.ts';
import { deriveSrtpSessionKeys } from './srtp-kdf.ts';
import type { SrtpProfileName } from './srtp-profile.ts';
import { srtpKeyLengths } from './srtp-profile.ts';
import { MAX_STRIDE, WINDOW_PACKETS } from './keystream.ts';

// AES-CM only: GCM keeps a cipher object per packet (gcm-transform.ts says why).
const PROFILES: SrtpProfileName[] = ['AES_CM_128_HMAC_SHA1_80'];

/** Two send contexts with the same keys: keystream made ahead, and keystream made for each packet alone (the reference; srtp-session.test.ts checks both against node:crypto CTR). */
function pair(p: SrtpProfileName): [SrtpContext, SrtpContext, SrtpContext] {
  const { keyLength, saltLength } = srtpKeyLengths(p);
  const keys = deriveSrtpSessionKeys(p, Buffer.alloc(keyLength, 0x3c), Buffer.alloc(saltLength, 0x9a));
  return [new SrtpContext(p, keys), new SrtpContext(p, keys, { keystreamAhead: false }), new SrtpContext(p, keys)];
}

function rtp(seq: number, ssrc: number, payload: number, csrcs = 0, extWords = 0): Buffer {
  const hl = 12 + 4 * csrcs + (extWords > 0 ? 4 + 4 * extWords : 0);
  const b = Buffer.alloc(hl + payload);
  b[0] = 0x80 | (extWords > 0 ? 0x10 : 0) | csrcs;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < csrcs; i++) b.writeUInt32BE(0xc0000000 + i, 12 + 4 * i);
  if (extWords > 0) {
    b.writeUInt16BE(0xbede, 12 + 4 * csrcs);
    b.writeUInt16BE(extWords, 14 + 4 * csrcs);
  }
  for (let i = hl; i < b.length; i++) b[i] = (i * 13 + seq) & 0xff;
  return b;
}

function protect(ctx: SrtpContext, pkt: Buffer): Buffer {
  const out = ctx.protectRtp(pkt, pkt.length);
  assert.ok(Buffer.isBuffer(out), String(out));
  return out;
}

test('keystream made ahead gives the per-packet bytes: ROC wrap, odd and growing lengths, headers, gaps, old indices', () => {
  for (const p of PROFILES) {
    const [ahead, once, rx] = pair(p);
    // Each step: [seq, payload length, csrcs, ext words]. Starts below 65536 so the index crosses ROC 0 → 1
    // inside one window; lengths cross the window's stride (growth refills), exceed MAX_STRIDE (fallback),
    // and the sequence jumps forward (refill) and back (an old index: fallback).
    const steps: Array<[number, number, number, number]> = [];
    let seq = 65530;
    for (let i = 0; i < 40; i++) steps.push([seq++ & 0xffff, [1, 15, 16, 17, 100, 1183][i % 6], i % 3, i % 4 === 0 ? 2 : 0]);
    steps.push([seq++ & 0xffff, 1200, 0, 1]); // longer than the window's stride: a new window from here
    steps.push([seq++ & 0xffff, MAX_STRIDE + 40, 0, 0]); // longer than any window
    steps.push([seq++ & 0xffff, 0, 0, 0]); // header only
    steps.push([(seq + 100) & 0xffff, 700, 1, 0]); // a jump ahead
    steps.push([(seq + 3) & 0xffff, 700, 0, 0]); // behind the window: per-packet
    for (let i = 0; i < 3 * WINDOW_PACKETS; i++) steps.push([(seq + 101 + i) & 0xffff, 1 + ((i * 37) % 1300), 0, 0]);
    for (const ssrc of [0x01020304, 0xfffffffe]) {
      for (const [s, len, csrcs, ext] of steps) {
        const pkt = rtp(s, ssrc, len, csrcs, ext);
        const a = protect(ahead, pkt);
        const b = protect(once, pkt);
        assert.deepEqual(a, b, `${p} ssrc ${ssrc} seq ${s} len ${len}`);
        const back = Buffer.from(a);
        assert.equal(rx.unprotectRtp(back, back.length), pkt.length, `${p} unprotect seq ${s}`);
        assert.deepEqual(back.subarray(0, pkt.length), pkt);
      }
    }
  }
});

test('keystream windows of streams interleaved on one context stay apart', () => {
  for (const p of PROFILES) {
    const [ahead, once] = pair(p);
    for (let i = 0; i < 5 * WINDOW_PACKETS; i++) {
      for (const ssrc of [1, 2, 3]) {
        const pkt = rtp(1000 * ssrc + i, ssrc, ssrc === 2 ? 90 + (i % 7) : 1100);
        assert.deepEqual(protect(ahead, pkt), protect(once, pkt), `${p} ${ssrc}/${i}`);
      }
    }
  }
});

test('a tampered packet inside the receive window fails authentication and leaves the buffer intact', () => {
  for (const p of PROFILES) {
    const [tx, , rx] = pair(p);
    for (let seq = 100; seq < 110; seq++) {
      const w = protect(tx, rtp(seq, 7, 500));
      assert.equal(rx.unprotectRtp(w, w.length), 512, `${p} ${seq}`);
    }
    const good = protect(tx, rtp(110, 7, 500)); // index 110 lies in the window made after 100
    for (const at of [3, 20, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x10;
      const before = Buffer.from(bad);
      assert.equal(rx.unprotectRtp(bad, bad.length), 'srtp_auth_failed', `${p} offset ${at}`);
      assert.deepEqual(bad, before);
    }
    // A forged packet far ahead fails and moves nothing: the real next packets still decrypt.
    const forged = rtp(5000, 7, 500);
    const f = Buffer.concat([forged, Buffer.alloc(16)]);
    assert.equal(rx.unprotectRtp(f, f.length), 'srtp_auth_failed');
    assert.equal(rx.unprotectRtp(Buffer.from(good), good.length), 512);
    const next = protect(tx, rtp(111, 7, 500));
    assert.equal(rx.unprotectRtp(next, next.length), 512);
    assert.deepEqual(next.subarray(0, 512), rtp(111, 7, 500));
  }
});

test('a received packet at an unaligned offset in its buffer decrypts through its own keystream', () => {
  for (const p of PROFILES) {
    const [tx, , rx] = pair(p);
    for (let seq = 0; seq < 3 * WINDOW_PACKETS; seq++) {
      const wire = protect(tx, rtp(seq, 9, 333));
      const mem = Buffer.alloc(wire.length + 1);
      wire.copy(mem, seq % 2); // every other packet starts at an odd offset
      const view = mem.subarray(seq % 2, seq % 2 + wire.length);
      assert.equal(rx.unprotectRtp(view, view.length), 345, `${p} ${seq}`);
      assert.deepEqual(view.subarray(0, 345), rtp(seq, 9, 333));
    }
  }
});
