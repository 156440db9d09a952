/**
 * Proxima for bench/adaptation-janus.ts: the server as in the tests (startTestServer: loopback, free ports,
 * built-in office map), but in a child process of its own, so that like Janus it neither shares the load
 * generator's event loop nor outlives one measurement. Over IPC it answers what only the server knows: the
 * remote port it sees for a participant's subscribe transport (which weather-proxy client that is) and what
 * its allocator does with each publisher's video for that subscriber.
 *
 * This file is both sides: `startProximaChild()` forks it; run as a child it starts the server.
 */
import { fork } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../tools/loadgen/server-process.ts';

const thisFile = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Per publisher, the server's choice for one subscriber's copy of its video. */
export interface ServerVideoState {
  publisher: string;
  /** The allocated layer (`s<spatial>t<temporal>`), or null when paused. */
  target: string | null;
  /** What is forwarded right now (null while paused or waiting for a keyframe). */
  current: string | null;
  /** The allocator's reason for the target (e.g. which budget limited it). */
  reason: string;
}

export interface ServerSubscriberState {
  estimateBps: number;
  state: string;
  videos: ServerVideoState[];
  /** The server found this subscriber discarding RTX (its repairs go in the original stream). */
  rtxDiscarding: boolean;
}

type Request = { id: number; op: 'subscribePort' | 'subscriberState'; space: string; participant: string; publishers?: string[] };
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export interface ProximaChild {
  url: string;
  mediaPort: number;
  pid: number;
  logFile: string;
  /** The remote port the server sees for the participant's subscribe transport (0 while it has none). */
  subscribePort(space: string, participant: string): Promise<number>;
  subscriberState(space: string, participant: string, publishers: string[]): Promise<ServerSubscriberState>;
  /** SIGTERM, SIGKILL after 5 s; resolves when it exited. Safe to call twice. */
  close(): Promise<void>;
}

/** Forks a fresh server announcing `announcedPort` (a weather proxy's) in its ICE candidates. */
export async function startProximaChild(opts: { announcedPort: number; logFile?: string }): Promise<ProximaChild> {
  const logFile = opts.logFile ?? join(ROOT, '.cache', 'bench', `adaptation-proxima-${process.pid}-${Date.now()}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const child = fork(thisFile, ['--child', String(opts.announcedPort)], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let ready: { url: string; mediaPort: number } | null = null;
  const started = new Promise<{ url: string; mediaPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Proxima child did not start within 60 s (log: ${logFile})`)), 60_000);
    child.on('message', (m: { ready?: { url: string; mediaPort: number }; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.ready) {
        clearTimeout(timer);
        ready = m.ready;
        return resolve(m.ready);
      }
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p) return;
      pending.delete(m.id!);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'child error'));
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`Proxima child exited before it was ready (log: ${logFile})`));
      for (const p of pending.values()) p.reject(new Error('Proxima child exited'));
      pending.clear();
    });
  });
  const { url, mediaPort } = await started.catch((e: Error) => {
    child.kill('SIGKILL');
    throw e;
  });
  const ask = <T>(req: Omit<Request, 'id'>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...req, id });
    });
  let closing: Promise<void> | null = null;
  return {
    url,
    mediaPort,
    pid: child.pid!,
    logFile,
    subscribePort: (space, participant) => ask<number>({ op: 'subscribePort', space, participant }),
    subscriberState: (space, participant, publishers) => ask<ServerSubscriberState>({ op: 'subscriberState', space, participant, publishers }),
    close: () => (closing ??= stopChild(child, exited)),
  };
}

async function childMain(announcedPort: number): Promise<void> {
  // Imported here so the parent side does not load the server.
  const { startTestServer } = await import('../../test/testkit/proxima.ts');
  const server = await startTestServer({ media: { announcedPort } });
  const participant = (space: string, id: string) => server.spaces.get(space)?.participants.get(id);
  const layer = (l: { spatial: number; temporal: number } | null) => (l === null ? null : `s${l.spatial}t${l.temporal}`);
  const handle = (req: Request): unknown => {
    const sub = participant(req.space, req.participant);
    if (req.op === 'subscribePort') return sub?.subscribeTransport?.remotePort ?? 0;
    const snap = sub?.downlink?.snapshot();
    const videos: ServerVideoState[] = [];
    let rtxDiscarding = false;
    for (const pubId of req.publishers ?? []) {
      const prod = [...(participant(req.space, pubId)?.producers.values() ?? [])].find((p) => p.kind === 'video');
      const c = prod ? sub?.consumerOf(prod.id) : undefined;
      const a = prod ? snap?.allocation?.tracks.find((t) => t.trackId === prod.id) : undefined;
      if (c?.rtxWatch?.discarding) rtxDiscarding = true;
      videos.push({ publisher: pubId, target: c ? layer(c.target) : null, current: c ? layer(c.current) : null, reason: a?.reason ?? '?' });
    }
    return { estimateBps: snap?.estimator.estimateBps ?? 0, state: snap?.estimator.state ?? '?', videos, rtxDiscarding } satisfies ServerSubscriberState;
  };
  process.on('message', (req: Request) => {
    let reply: Reply;
    try {
      reply = { id: req.id, ok: true, value: handle(req) };
    } catch (e) {
      reply = { id: req.id, ok: false, error: (e as Error).message };
    }
    process.send!(reply);
  });
  const shutdown = () => void server.close().finally(() => process.exit(0));
  process.on('SIGTERM', shutdown);
  process.on('disconnect', shutdown); // the bench died: do not outlive it
  process.send!({ ready: { url: server.url, mediaPort: server.media.port } });
}

if (process.argv[1] === thisFile && process.argv[2] === '--child') {
  childMain(Number(process.argv[3])).catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
