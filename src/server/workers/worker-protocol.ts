/**
 * The control channel between the main thread and a media worker (postMessage, control only: no packet
 * ever goes this way). Every request carries an id and gets exactly one reply with that id; a worker's
 * own reports (stats) carry none.
 */
import type { RingPair } from '../../transport/workers/worker-relay-link.ts';

/** What a worker is started with (workerData). */
export interface WorkerInit {
  index: number;
  bindIp: string;
  /** This worker's UDP port (0 = any free one): one port per worker, announced in its candidates. */
  port: number;
  announcedIp: string;
  candidateIps?: string[];
  publishDtlsRole: 'client' | 'server';
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
  | { id: number; t: 'close' };

export type WorkerReply = { id: number; t: 'ok'; value?: unknown } | { id: number; t: 'error'; message: string };

/** Counters of one worker, summed into the process's /metrics by the pool. */
export interface WorkerStatsReport {
  t: 'stats';
  drops: number[];
  packets: Record<string, number>;
  workers: Record<string, number>;
}

export type WorkerEvent = { t: 'ready'; port: number } | WorkerStatsReport;

export type WorkerMessage = WorkerReply | WorkerEvent;
