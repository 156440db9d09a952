/**
 * One load process of bench/capacity.ts: joins its share of a scenario's people (publishers play the
 * loadgen clips with send-time RTP timestamps; every subscriber is a LightReceiver), walks them when told,
 * and reports per-subscriber loss and the delay histogram of a measured window. Driven over the IPC channel
 * of child_process.fork; see CapacityShardCommand below.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { signToken } from '../../src/server/auth/tokens.ts';
import { seededRandom } from '../../src/util/prng.ts';
import { loadClip } from '../../tools/loadgen/media/clip.ts';
import type { LightWindow } from '../../tools/loadgen/receive/light-receiver.ts';
import { joinLightPerson, type LightPerson } from '../../tools/loadgen/targets/light-person.ts';
import { Histogram, type HistogramData } from '../../tools/loadgen/receive/histogram.ts';
import type { PersonSpec } from '../../tools/loadgen/person.ts';

export type CapacityShardCommand =
  | { type: 'init'; url: string; space: string; secret: string; people: Array<{ index: number; spec: PersonSpec }>; seed: number; authEvery: number; joinConcurrency: number; settleMs: number; allButFirstReceive: boolean }
  | { type: 'walk'; index: number; x: number; y: number }
  | { type: 'window' }
  | { type: 'report' }
  | { type: 'close' };

export interface ShardSubscriber extends LightWindow {
  index: number;
  publishes: boolean;
  /** This subscriber's own delay percentiles (NaN without samples). */
  delayP50Ms: number;
  delayP99Ms: number;
  /** Packets that failed SRTP checks since joining (a browser would have dropped them; not counted as received). */
  authFailed: number;
}

export type CapacityShardEvent =
  | { type: 'joined'; count: number }
  | { type: 'ready'; settleMs: number; unconnected: number[] }
  | { type: 'windowStarted' }
  | { type: 'report'; subscribers: ShardSubscriber[]; delay: HistogramData; audioDelay: HistogramData; lagMaxMs: number; lagP99Ms: number; authFailures: Record<string, number>; unknownPackets: number; errors: string[] }
  | { type: 'fatal'; message: string };

interface ShardPerson extends LightPerson {
  index: number;
}

const send = (e: CapacityShardEvent) => process.send!(e);
const people: ShardPerson[] = [];
const errors: string[] = [];
const lag = monitorEventLoopDelay({ resolution: 10 });
let feedbackTimer: NodeJS.Timeout | null = null;
let closed = false;

async function init(c: Extract<CapacityShardCommand, { type: 'init' }>): Promise<void> {
  const clip = await loadClip({ layers: 3 });
  const thumbClip = await loadClip({ layers: 'thumb' });
  const certificate = await createDtlsCertificate();
  const rnd = seededRandom(c.seed);
  // One timer drives every receiver's feedback (NACK, PLI, transport-cc, RR), not one per person.
  feedbackTimer = setInterval(() => {
    for (const p of people) p.receiver.tick();
  }, 25);
  let next = 0;
  const join = async () => {
    while (next < c.people.length) {
      const { index, spec } = c.people[next++]!;
      const token = signToken({ space: c.space, name: spec.name, publish: true, spotlight: true, exp: Math.floor(Date.now() / 1000) + 3600 }, c.secret);
      const p = await joinLightPerson(spec, { url: c.url, space: c.space, token, clip, thumbClip, certificate, authEvery: c.authEvery, random: rnd });
      people.push({ index, ...p });
      // One handshake at a time per join slot: a hundred subscribe transports starting DTLS at once on this
      // small machine take longer than the server's 10 s handshake deadline, which a real crowd never asks.
      if (index > 0 || !c.allButFirstReceive) await p.client.subscriberReady(c.allButFirstReceive ? 15_000 : 3000).catch(() => undefined);
      if (people.length % 10 === 0) send({ type: 'joined', count: people.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.joinConcurrency, c.people.length) }, join));
  // Subscribe transports connect after the join (offer, answer, ICE, DTLS): measuring before they all have
  // would count the server's srtp_not_ready drops and the handshakes' CPU as steady state.
  const t0 = Date.now();
  // In a fan-out or town hall everyone after the first receives; in a mingle someone may stand alone.
  const settled = () => people.every((p) => (p.index === 0 || !c.allButFirstReceive ? (p.client.subscriber?.state ?? 'connected') : p.client.subscriber?.state) === 'connected');
  while (!settled() && Date.now() - t0 < c.settleMs) await new Promise((r) => setTimeout(r, 100));
  const unconnected = people.filter((p) => (p.client.subscriber || (c.allButFirstReceive && p.index > 0)) && p.client.subscriber?.state !== 'connected').map((p) => p.index);
  send({ type: 'ready', settleMs: Date.now() - t0, unconnected });
}

function report(): Extract<CapacityShardEvent, { type: 'report' }> {
  const authFailures: Record<string, number> = {};
  let unknownPackets = 0;
  const subscribers: ShardSubscriber[] = [];
  const delay = new Histogram();
  const audioDelay = new Histogram();
  for (const p of people) {
    let failed = 0;
    for (const [reason, n] of p.client.subscriber?.drops ?? []) if (reason !== 'srtp_not_ready') failed += n;
    delay.merge(p.receiver.delay);
    audioDelay.merge(p.receiver.audioDelay);
    for (const [reason, n] of p.client.subscriber?.drops ?? []) if (reason !== 'srtp_not_ready') authFailures[reason] = (authFailures[reason] ?? 0) + n;
    unknownPackets += p.receiver.unknownPackets;
    errors.push(...p.errors.splice(0));
    const d = p.receiver.delay;
    subscribers.push({ index: p.index, publishes: p.publisher !== null, ...p.receiver.window(), delayP50Ms: d.percentile(50), delayP99Ms: d.percentile(99), authFailed: failed });
  }
  return { type: 'report', subscribers, delay: delay.toJSON(), audioDelay: audioDelay.toJSON(), lagMaxMs: lag.max / 1e6, lagP99Ms: lag.percentile(99) / 1e6, authFailures, unknownPackets, errors: errors.slice(0, 50) };
}

function close(): void {
  if (closed) return;
  closed = true;
  if (feedbackTimer) clearInterval(feedbackTimer);
  for (const p of people) p.close();
  lag.disable();
  setTimeout(() => process.exit(0), 200);
}

process.on('message', (m: CapacityShardCommand) => {
  switch (m.type) {
    case 'init':
      lag.enable();
      init(m).catch((e: Error) => send({ type: 'fatal', message: e.message }));
      break;
    case 'walk': {
      const p = people.find((q) => q.index === m.index);
      p?.client.request('move', { x: m.x, y: m.y, goTo: true }).catch((e: Error) => errors.push(`${p.spec.name}: move: ${e.message}`));
      break;
    }
    case 'window':
      for (const p of people) p.receiver.startWindow();
      for (const p of people) {
        p.receiver.delay.reset();
        p.receiver.audioDelay.reset();
      }
      lag.reset();
      send({ type: 'windowStarted' });
      break;
    case 'report':
      send(report());
      break;
    case 'close':
      close();
      break;
  }
});
process.on('disconnect', close);
