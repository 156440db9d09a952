// A publisher's worker for test/integration/worker-relay-threads.test.ts: a Producer fed synthetic VP8, its
// track offered to the other worker through TrackRelay over WorkerRelayLink, in its own thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Producer } from '../../src/media/producer.ts';
import { Consumer } from '../../src/media/consumer.ts';
import { RtpView, writeRtpHeader } from '../../src/rtp/rtp-packet.ts';
import { TrackRelay } from '../../src/cascade/relay/track-relay.ts';
import { WorkerRelayLink, type RingPair } from '../../src/transport/workers/worker-relay-link.ts';
import { systemClock } from '../../src/util/clock.ts';
import { createLogger } from '../../src/util/logger.ts';

const { rings, bell, localConsumer } = workerData as { rings: RingPair; bell: SharedArrayBuffer; localConsumer?: boolean };
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
// Benches: a subscriber on this same worker (what a crossing is compared with); its sends are counted only.
let localSent = 0;
if (localConsumer) {
  let tseq = 0;
  const out = { connected: true, rttMs: -1, lossy: false, redWanted: false, nextTransportSeq: () => tseq++ & 0xffff, sendProbe: () => true, sendRtcp: () => true, sendRtp: () => (localSent++, true) };
  const c = new Consumer({ id: 'c', ssrc: 0xaaaa, rtxSsrc: 0xbbbb, payloadType: 96, rtxPayloadType: 97, ext: { transportCc: 3, absSendTime: 2, audioLevel: 0 } }, producer, out);
  producer.addSink(c);
  c.resume(systemClock.now());
}
const view = new RtpView();
const buf = Buffer.alloc(1200);
let seq = 1;

function send(n: number, done: () => void, burst = 20, everyMs = 10): void {
  // Bursts between turns of the loop, as a socket delivers them.
  for (let k = 0; k < burst && n > 0; k++, n--) {
    writeRtpHeader(buf, 0, { marker: true, payloadType: 120, sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc: 0x1111 }, null);
    buf[12] = 0x10;
    buf[13] = seq === 1 ? 0x00 : 0x01;
    buf.fill(seq & 0xff, 14, 1100);
    view.parse(buf, 1100);
    producer.onRtp(view, systemClock.now(), false);
    seq++;
  }
  // Default 20 packets every 10 ms: 2,000 packets a second, a busy simulcast publisher's rate; 0 ms: at once.
  if (n > 0) everyMs > 0 ? setTimeout(() => send(n, done, burst, everyMs), everyMs) : setImmediate(() => send(n, done, burst, everyMs));
  else done();
}

parentPort!.on('message', (m: { t: 'send'; n: number; burst?: number; everyMs?: number } | { t: 'plis' } | { t: 'wanted' } | { t: 'localSent' } | { t: 'close' }) => {
  if (m.t === 'wanted') parentPort!.postMessage({ t: 'wanted', yes: relay.sinkTracks('w1').length > 0 });
  else if (m.t === 'send') send(m.n, () => parentPort!.postMessage({ t: 'sent' }), m.burst, m.everyMs);
  else if (m.t === 'localSent') parentPort!.postMessage({ t: 'localSent', n: localSent });
  else if (m.t === 'plis') parentPort!.postMessage({ t: 'plis', n: plis });
  else {
    link.close();
    relay.close();
    parentPort!.close();
  }
});
parentPort!.postMessage({ t: 'desc', desc });
