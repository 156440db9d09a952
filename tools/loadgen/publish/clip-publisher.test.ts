import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FakeClock, type Clock } from '../../../src/util/clock.ts';
import { buildClip } from '../media/clip.ts';
import { parseIvf } from '../media/ivf.ts';
import { parseOggOpus } from '../media/ogg-opus.ts';
import type { NodePeer } from '../../client/node-peer.ts';
import { ClipPublisher } from './clip-publisher.ts';

const ivf = parseIvf(readFileSync(new URL('../media/fixtures/clip-160x90.ivf', import.meta.url)));
const opus = parseOggOpus(readFileSync(new URL('../media/fixtures/clip-1s.ogg', import.meta.url))).packets;
const clip = buildClip([{ name: 'v', ivf, targetKbps: 100 }], opus);

/** A fake clock whose readings run `late` ms behind its timers, as a busy event loop's do. */
function lateClock() {
  const fake = new FakeClock();
  const c = { late: 0, fake } as { late: number; fake: FakeClock } & Clock;
  c.now = () => fake.now() + c.late;
  c.wallNow = () => fake.wallNow() + c.late;
  c.setTimeout = (fn, ms) => fake.setTimeout(fn, ms);
  c.setInterval = (fn, ms) => fake.setInterval(fn, ms);
  c.clear = (h) => fake.clear(h);
  return c;
}

function fakePeer() {
  const sent: Array<{ key: string; ts: number; at: number }> = [];
  const srs: Array<{ key: string; wallMs: number; rtp: number }> = [];
  let clock: Clock | null = null;
  const peer = {
    state: 'connected',
    onRtcp: () => {},
    stream: (key: string) => ({ ssrc: key === 'video' ? 1 : 2 }),
    sendRtp: (key: string, _p: Buffer, o: { timestamp: number }) => void sent.push({ key, ts: o.timestamp, at: clock!.now() }),
    sendSenderReport: (key: string, at: { wallMs: number; rtpTimestamp: number }) => void srs.push({ key, wallMs: at.wallMs, rtp: at.rtpTimestamp }),
  };
  return { peer: peer as unknown as NodePeer, sent, srs, setClock: (c: Clock) => (clock = c) };
}

test('sendTimeTimestamps: RTP timestamps follow the send time, and sender reports map them to the wall clock', () => {
  const clock = lateClock();
  const p = fakePeer();
  p.setClock(clock);
  const pub = new ClipPublisher(p.peer, clip, clock, { video: [{ key: 'video', layer: 0 }], audioKey: 'audio', sendTimeTimestamps: true, random: () => 0.5 });
  pub.start();
  for (let i = 0; i < 60; i++) {
    clock.late = (i * 7) % 23; // the event loop ran late by a varying amount
    clock.fake.advance(20);
  }
  pub.stop();
  const video = p.sent.filter((s) => s.key === 'video');
  assert.ok(video.length > 20);
  const first = video[0]!;
  for (const s of video) assert.equal(s.ts, (first.ts + Math.round((s.at - first.at) * 90)) >>> 0);
  const sr = p.srs.find((s) => s.key === 'video');
  assert.ok(sr);
  // The SR's pair sits on the same line: wall of any packet = SR wall + (ts − SR ts) / 90.
  const wallOrigin = clock.wallNow() - clock.now();
  for (const s of video) assert.ok(Math.abs(sr.wallMs + (((s.ts - sr.rtp) | 0) / 90) - (wallOrigin + s.at)) < 0.02);
});

test('without the option timestamps are the clip\'s nominal ones, late or not', () => {
  const clock = lateClock();
  const p = fakePeer();
  p.setClock(clock);
  const pub = new ClipPublisher(p.peer, clip, clock, { video: [{ key: 'video', layer: 0 }], audioKey: null, random: () => 0.5 });
  pub.start();
  for (let i = 0; i < 30; i++) {
    clock.late = (i * 7) % 23;
    clock.fake.advance(20);
  }
  pub.stop();
  const ts = [...new Set(p.sent.map((s) => s.ts))];
  for (let i = 1; i < ts.length; i++) assert.equal((ts[i]! - ts[i - 1]!) >>> 0, 3000);
});
