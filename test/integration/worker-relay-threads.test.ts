// A track crossing between two real threads (docs/workers.md): the publisher's worker in a worker thread,
// the subscriber's here, both reading their rings as they run (doorbell wake-ups, no manual polling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Consumer } from '../../src/media/consumer.ts';
import type { OutgoingTransport } from '../../src/media/media-types.ts';
import { RtpView } from '../../src/rtp/rtp-packet.ts';
import { TrackRelay } from '../../src/cascade/relay/track-relay.ts';
import type { TrackDesc } from '../../src/cascade/relay/track-desc.ts';
import { WorkerRelayLink, linkWorkers } from '../../src/transport/workers/worker-relay-link.ts';
import { Doorbell } from '../../src/transport/workers/doorbell.ts';
import { startWorker } from '../../src/util/ts-worker.ts';
import { systemClock } from '../../src/util/clock.ts';
import { createLogger } from '../../src/util/logger.ts';

class Capture implements OutgoingTransport {
  connected = true;
  rttMs = -1;
  lossy = false;
  redWanted = false;
  seqs: number[] = [];
  fills: number[] = [];
  private tseq = 0;
  private readonly v = new RtpView();
  nextTransportSeq(): number {
    return this.tseq++ & 0xffff;
  }
  sendProbe(): boolean {
    return true;
  }
  sendRtp(buf: Buffer, length: number): boolean {
    assert.equal(this.v.parse(buf, length), null);
    this.seqs.push(this.v.sequenceNumber);
    this.fills.push(buf[this.v.payloadOffset + 10]!);
    return true;
  }
  sendRtcp(): boolean {
    return true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a track published in one thread plays in another: every packet, in order, and a keyframe request back', async () => {
  const log = createLogger('silent');
  const bell0 = new Doorbell().sab;
  const bell1 = new Doorbell().sab;
  const rings = linkWorkers(bell0, bell1, 2 << 20);
  const worker = startWorker(new URL('../testkit/worker-publisher.ts', import.meta.url), { workerData: { rings: rings.a, bell: bell0 } });
  const link = new WorkerRelayLink({ self: 'w1', bell: bell1, clock: systemClock, log });
  link.addPeer('w0', rings.b);
  const relay = new TrackRelay({ nodeId: 'w1', nodeNum: 2, endpoint: link, upstreamOf: (o) => o, clock: systemClock, log });
  link.setHandler(relay);
  link.start();
  const ask = async <T>(m: object | null, reply: string): Promise<T> => {
    if (m !== null) worker.postMessage(m);
    for (;;) {
      const [r] = (await once(worker, 'message')) as [{ t: string } & T];
      if (r.t === reply) return r;
    }
  };
  try {
    const { desc } = await ask<{ desc: TrackDesc }>(null, 'desc');
    const producer = relay.relayedProducer(desc);
    const out = new Capture();
    const consumer = new Consumer({ id: 'c', ssrc: 0xaaaa, rtxSsrc: 0xbbbb, payloadType: 96, rtxPayloadType: 97, ext: { transportCc: 3, absSendTime: 2, audioLevel: 0 } }, producer, out);
    producer.addSink(consumer);
    consumer.resume(systemClock.now());
    // The want crosses at the relay's next tick; the publisher's worker then adds a sink for us.
    for (let k = 0; k < 100 && !(await ask<{ yes: boolean }>({ t: 'wanted' }, 'wanted')).yes; k++) await sleep(20);
    await ask({ t: 'send', n: 2000 }, 'sent');
    for (let k = 0; k < 150 && out.seqs.length < 2000; k++) await sleep(20);
    assert.equal(out.seqs.length, 2000, 'every packet crossed');
    // In order unless a packet was refused by a full ring and repaired later (counted): then as a set.
    const base = Math.min(...out.seqs.slice(0, 10)) - 10;
    const seqs = link.ringDropsFrom('w0') === 0 ? out.seqs : [...out.seqs].sort((a, b) => ((a - base) & 0xffff) - ((b - base) & 0xffff));
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, `continuity at ${i}`);
    if (link.ringDropsFrom('w0') === 0) assert.ok(out.fills.every((f, i) => f === ((i + 1) & 0xff)), 'each packet carries its own payload');
    await sleep(600); // past the publisher's keyframe throttle
    const before = (await ask<{ n: number }>({ t: 'plis' }, 'plis')).n;
    consumer.requestKeyframe();
    await sleep(100);
    const after = (await ask<{ n: number }>({ t: 'plis' }, 'plis')).n;
    assert.equal(after, before + 1, 'the keyframe request reached the publisher in the other thread');
  } finally {
    worker.postMessage({ t: 'close' });
    link.close();
    relay.close();
    await worker.terminate();
  }
});
