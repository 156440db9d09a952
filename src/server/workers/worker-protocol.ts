/**
 * The control channel between the main thread and a media worker (postMessage, control only: no packet
 * ever goes this way). Every request carries an id and gets exactly one reply with that id; a worker's
 * own reports (stats) carry none.
 */
import type { RingPair } from '../../transport/workers/worker-relay-link.ts';
import type { TrackDesc } from '../../cascade/relay/track-desc.ts';
import type { LinkInfo, ServerMessage, TrackSource } from '../../signaling/messages.ts';
import type { ReceiveCaps } from '../../allocation/receive-caps.ts';
import type { DtlsLimits } from '../../transport/dtls/handshake-guard.ts';
import type { IngressLimits } from '../../media/ingress-gate.ts';
import type { HistogramCounts } from '../../metrics/hot-histogram.ts';
import type { QualitySample } from '../../quality/quality-sampler.ts';
import type { MediaRecord } from '../../recorder/events.ts';

/** A published track as it crosses the control channel: where it is published, and its relay name. */
export interface WireTrack {
  id: string;
  kind: 'audio' | 'video';
  mid: string;
  source: TrackSource;
  muted: boolean;
  /** The worker it is published on. */
  worker: number;
  desc: TrackDesc;
}

/** What a participant's media half tells its control half (worker → main). */
export type MediaEvent =
  | { k: 'send'; m: ServerMessage }
  | { k: 'speaking'; on: boolean }
  | { k: 'state'; which: 'publish' | 'subscribe'; state: string; reason?: string }
  | { k: 'quality'; s: QualitySample }
  | { k: 'record'; r: MediaRecord };

/** What a worker is started with (workerData). */
export interface WorkerInit {
  index: number;
  bindIp: string;
  /** This worker's UDP port (0 = any free one): one port per worker, announced in its candidates. */
  port: number;
  announcedIp: string;
  candidateIps?: string[];
  publishDtlsRole: 'client' | 'server';
  /** ICE-TCP port of this worker (0 = any free one), null = off. */
  tcpPort: number | null;
  dtls?: DtlsLimits;
  ingress?: { publisher: IngressLimits; subscriber: IngressLimits };
  /** This worker's doorbell (its peers ring it after writing to its rings). */
  bell: SharedArrayBuffer;
  logLevel: string;
  /** How often the worker reports its counters (ms). */
  statsEveryMs: number;
}

export type WorkerRequest =
  | { id: number; t: 'link'; peer: number; rings: RingPair }
  | { id: number; t: 'unlink'; peer: number }
  /** Tests only: keep the worker's loop busy for `ms` (placement reads measured busy time). */
  | { id: number; t: 'busy'; ms: number }
  /** Tests only: the worker fails as a crash would. */
  | { id: number; t: 'crash' }
  | { id: number; t: 'close' }
  // A participant's media half (pid: its participant id); ids of 0 expect no reply.
  | { id: number; t: 'publish'; pid: string; sdp: string; sources?: Array<{ mid: string; source: TrackSource }> }
  | { id: number; t: 'setMuted'; pid: string; trackId: string; muted: boolean }
  | { id: number; t: 'consume'; pid: string; publisherId: string; tracks: WireTrack[] }
  | { id: number; t: 'stopConsuming'; pid: string; publisherId: string; trackIds?: string[] }
  | { id: number; t: 'trackEnded'; trackId: string }
  | { id: number; t: 'answer'; pid: string; offerId: number; sdp: string }
  | { id: number; t: 'restartIce'; pid: string }
  | { id: number; t: 'resend'; pid: string }
  | { id: number; t: 'links'; pid: string; links: LinkInfo[] }
  | { id: number; t: 'caps'; pid: string; caps: ReceiveCaps }
  | { id: number; t: 'closeParticipant'; pid: string; reason: string }
  /** Tests: user-space impairment on this worker's socket (MediaMux.setImpairment). */
  | { id: number; t: 'impair'; impairment: unknown };

/** A failed request; `code` is a RequestError's code, so the client gets the same error as in one thread. */
export type WorkerReply = { id: number; t: 'ok'; value?: unknown } | { id: number; t: 'error'; message: string; code?: string };

/** Counters of one worker, summed into the process's /metrics by the pool. */
export interface WorkerStatsReport {
  t: 'stats';
  drops: number[];
  packets: Record<string, number>;
  workers: Record<string, number>;
  /** Live transports, producers, consumers of the worker (gauges, not counters). */
  objects: Record<string, number>;
  /** The worker's latency histograms (metrics/registry.ts `histograms`). */
  histograms: Record<string, HistogramCounts>;
}

export type WorkerEvent = { t: 'ready'; port: number; tcpPort: number | null } | WorkerStatsReport | { t: 'media'; pid: string; e: MediaEvent };

export type WorkerMessage = WorkerReply | WorkerEvent;
