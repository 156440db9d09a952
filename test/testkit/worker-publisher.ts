// A publisher's worker for test/integration/worker-relay-threads.test.ts: a Producer fed synthetic VP8, its
// track offered to the other worker through TrackRelay over WorkerRelayLink, in its own thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Producer } from '../../src/media/producer.ts';
import { RtpView, writeRtpHeader } from '../../src/rtp/rtp-packet.ts';
import { TrackRelay } from '../../src/cascade/relay/track-relay.ts';
import { WorkerRelayLink, type RingPair } from '../../src/transport/workers/worker-relay-link.ts';
import { systemClock } from '../../src/util/clock.ts';
import { createLogger } from '../../src/util/logger.ts';

const { rings, bell } = workerData as { rings: RingPair; bell: SharedArrayBuffer };
const log = createLogger('silent');
const link = new WorkerRelayLink({ self: 'w0', bell, clock: systemClock, log });
link.addPeer('w1', rings);
const relay = new TrackRelay({ nodeId: 'w0', nodeNum: 1, endpoint: link, upstreamOf: (o) => o, clock: systemClock, log });
link.setHandler(relay);
link.start();
let plis = 0;
const producer = new Producer(
  { id: 'tv', publisherId: 'pa', kind: 'video', mid: '1', codec: 'vp8', clockRate: 90000, payloadType: 120, rtxPayloadType: 121, ssrc: 0x1111, rtxSsrc: 0x2222 },
  systemClock,
  { requestKeyframe: () => void plis++ },
);
const desc = relay.addLocal(producer);
const view = new RtpView();
const buf = Buffer.alloc(1200);
let seq = 1;

function send(n: number, done: () => void): void {
  // Bursts of 20 between turns of the loop, as a socket delivers them.
  for (let k = 0; k < 20 && n > 0; k++, n--) {
    writeRtpHeader(buf, 0, { marker: true, payloadType: 120, sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc: 0x1111 }, null);
    buf[12] = 0x10;
    buf[13] = seq === 1 ? 0x00 : 0x01;
    buf.fill(seq & 0xff, 14, 1100);
    view.parse(buf, 1100);
    producer.onRtp(view, systemClock.now(), false);
    seq++;
  }
  // 20 packets every 10 ms: 2,000 packets a second, a busy simulcast publisher's rate.
  if (n > 0) setTimeout(() => send(n, done), 10);
  else done();
}

parentPort!.on('message', (m: { t: 'send'; n: number } | { t: 'plis' } | { t: 'wanted' } | { t: 'close' }) => {
  if (m.t === 'wanted') parentPort!.postMessage({ t: 'wanted', yes: relay.sinkTracks('w1').length > 0 });
  else if (m.t === 'send') send(m.n, () => parentPort!.postMessage({ t: 'sent' }));
  else if (m.t === 'plis') parentPort!.postMessage({ t: 'plis', n: plis });
  else {
    link.close();
    relay.close();
    parentPort!.close();
  }
});
parentPort!.postMessage({ t: 'desc', desc });
