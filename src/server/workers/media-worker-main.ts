// A media worker thread (docs/workers.md): its own UDP socket and MediaServer, and the rings to the other
// workers through which tracks cross (TrackRelay over WorkerRelayLink). Driven by the main thread over the
// control channel of worker-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { MediaServer } from '../media-server.ts';
import { TrackRelay } from '../../cascade/relay/track-relay.ts';
import { WorkerRelayLink } from '../../transport/workers/worker-relay-link.ts';
import { localDropCounts } from '../../metrics/drop-reasons.ts';
import { HISTOGRAM_NAMES, histograms, objectCounts, packetStats, workerStats } from '../../metrics/registry.ts';
import { systemClock } from '../../util/clock.ts';
import { createLogger, type LogLevel } from '../../util/logger.ts';
import { MediaHost } from './media-host.ts';
import { RequestError } from '../request-error.ts';
import type { MuxImpairment } from '../../transport/media-mux.ts';
import type { WorkerInit, WorkerMessage, WorkerRequest } from './worker-protocol.ts';
import type { HistogramCounts } from '../../metrics/hot-histogram.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const self = `w${init.index}`;
const log = createLogger(init.logLevel as LogLevel, { worker: init.index });
const clock = systemClock;

const media = await MediaServer.start({
  bindIp: init.bindIp,
  port: init.port,
  announcedIp: init.announcedIp,
  ...(init.candidateIps ? { candidateIps: init.candidateIps } : {}),
  announcedPort: 0,
  tcpPort: init.tcpPort,
  publishDtlsRole: init.publishDtlsRole,
  ...(init.dtls ? { dtls: init.dtls } : {}),
  ...(init.ingress ? { ingress: init.ingress } : {}),
  clock,
  log,
});
const link = new WorkerRelayLink({ self, bell: init.bell, clock, log });
// Every worker takes a track straight from its publisher's worker: the origin is the upstream.
const relay = new TrackRelay({ nodeId: self, nodeNum: init.index + 1, endpoint: link, upstreamOf: (origin) => (link.hasPeer(origin) ? origin : null), clock, log });
link.setHandler(relay);
link.start();

const post = (m: WorkerMessage) => port.postMessage(m);
const host = new MediaHost(media, relay, init.index, clock, log, (pid, e) => post({ t: 'media', pid, e }));
/** Replies to requests that want one (id 0: a notification). */
const reply = (id: number, value?: unknown) => {
  if (id !== 0) post({ id, t: 'ok', ...(value !== undefined ? { value } : {}) });
};

const statsTimer = setInterval(() => {
  const hist: Record<string, HistogramCounts> = {};
  for (const name of HISTOGRAM_NAMES) hist[name] = histograms[name].snapshot();
  post({ t: 'stats', drops: localDropCounts(), packets: { ...packetStats }, workers: { ...workerStats }, objects: { ...objectCounts }, histograms: hist });
}, init.statsEveryMs);
statsTimer.unref();

port.on('message', (req: WorkerRequest) => {
  try {
    switch (req.t) {
      case 'link':
        link.addPeer(`w${req.peer}`, req.rings);
        relay.reroute();
        return post({ id: req.id, t: 'ok' });
      case 'unlink':
        link.removePeer(`w${req.peer}`);
        relay.removeRelayedFrom(`w${req.peer}`);
        return post({ id: req.id, t: 'ok' });
      case 'busy': {
        const end = performance.now() + req.ms;
        while (performance.now() < end);
        return post({ id: req.id, t: 'ok' });
      }
      case 'crash':
        setImmediate(() => {
          throw new Error('media worker crash (test)');
        });
        return;
      case 'publish':
        return reply(req.id, host.publish(req.pid, req.sdp, req.sources));
      case 'setMuted':
        return reply(req.id, host.setMuted(req.pid, req.trackId, req.muted));
      case 'consume':
        return reply(req.id, host.consume(req.pid, req.publisherId, req.tracks));
      case 'stopConsuming':
        return reply(req.id, host.stopConsuming(req.pid, req.publisherId, req.trackIds));
      case 'trackEnded':
        return reply(req.id, host.trackEnded(req.trackId));
      case 'answer':
        return reply(req.id, host.answer(req.pid, req.offerId, req.sdp));
      case 'restartIce':
        return reply(req.id, host.restartIce(req.pid));
      case 'resend':
        return reply(req.id, host.resend(req.pid));
      case 'links':
        return reply(req.id, host.links(req.pid, req.links));
      case 'caps':
        return reply(req.id, host.caps(req.pid, req.caps));
      case 'closeParticipant':
        return reply(req.id, host.close(req.pid, req.reason));
      case 'impair':
        return reply(req.id, media.mux.setImpairment(req.impairment as MuxImpairment | null));
      case 'close':
        link.close();
        relay.close();
        clearInterval(statsTimer);
        void media.close().then(() => {
          post({ id: req.id, t: 'ok' });
          port.close();
        });
        return;
    }
  } catch (e) {
    if (req.id === 0) log.error('media worker: notification failed', { t: req.t, err: e as Error });
    else post({ id: req.id, t: 'error', message: (e as Error).message, ...(e instanceof RequestError ? { code: e.code } : {}) });
  }
});

post({ t: 'ready', port: media.port, tcpPort: media.tcp?.port ?? null });
