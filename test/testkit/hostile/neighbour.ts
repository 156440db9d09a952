/**
 * The people a flood must not hurt, in a child process of their own (as they would be on their own
 * machines): A publishes a camera-like stream (pumpMedia: 30 fps video of 3 packets, 20 ms audio), B stands
 * next to A and receives it. B stamps each of A's packets with Date.now() (one clock across processes) and
 * answers {cmd: 'measure', from, to} with what arrived in that window. Reports {event: 'ready'} once A's
 * audio and video flow at B.
 *
 *   node --import tsx test/testkit/hostile/neighbour.ts <httpUrl> <space>
 */
import { NodeClient } from '../../../tools/client/node-client.ts';
import { pumpMedia } from '../media-pump.ts';

const [url, space] = process.argv.slice(2) as [string, string];
const arrivals = new Map<number, number[]>();
const fromA = new Set<number>();
const send = (m: unknown) => process.send?.(m);

function measure(t0: number, t1: number): { packets: number; maxGapMs: number; perStream: string } {
  let packets = 0;
  let maxGapMs = 0;
  const per: string[] = [];
  for (const [ssrc, xs] of arrivals) {
    let prev = t0;
    let n = 0;
    let gap = 0;
    for (const t of xs) {
      if (t < t0) continue;
      if (t >= t1) break;
      n++;
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    gap = Math.max(gap, t1 - prev);
    packets += n;
    maxGapMs = Math.max(maxGapMs, gap);
    per.push(`${ssrc}: ${n} pkts, gap ${gap.toFixed(0)} ms`);
  }
  return { packets, maxGapMs, perStream: per.join('; ') };
}

async function main(): Promise<void> {
  // Office map, open floor: A at 4 and B at 6 along y = 16.
  const a = await NodeClient.join(url, space, 'A', { x: 4, y: 16 });
  const pub = await a.publish();
  const aTracks = new Set(pub.tracks.map((t) => t.trackId));
  const stop = pumpMedia(pub.peer);
  const b = await NodeClient.join(url, space, 'B', {
    x: 6,
    y: 16,
    beforeJoin: (c) => {
      c.onSubscribeTracks = (tracks) => {
        for (const t of tracks) if (t.ssrc && ((t.trackId && aTracks.has(t.trackId)) || t.streamId === a.participantId)) fromA.add(t.ssrc);
      };
      c.onSubscriberPeer = (peer) => {
        peer.onRtp = (v) => {
          if (!fromA.has(v.ssrc)) return;
          let xs = arrivals.get(v.ssrc);
          if (!xs) arrivals.set(v.ssrc, (xs = []));
          xs.push(Date.now());
        };
      };
    },
  });
  const t0 = Date.now();
  while ([...arrivals.values()].filter((xs) => xs.length > 50).length < 2) {
    if (Date.now() - t0 > 15_000) throw new Error('A’s audio and video did not reach B');
    await new Promise((r) => setTimeout(r, 50));
  }
  process.on('message', (m: { cmd: string; from?: number; to?: number }) => {
    if (m.cmd === 'measure') send({ event: 'measured', ...measure(m.from!, m.to!) });
    else if (m.cmd === 'stop') {
      stop();
      a.close();
      b.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
  send({ event: 'ready', a: a.participantId, b: b.participantId });
}

main().catch((e: Error) => {
  send({ event: 'error', message: e.stack ?? e.message });
  process.exit(1);
});
