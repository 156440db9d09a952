import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running a TypeScript module, as the server itself runs (node --import tsx): on Node 20 a
 * Worker does not pass its entry through the loader hooks of `--import`, so the thread registers tsx first
 * and then imports the module. A compiled build (.js entry) starts directly.
 */
export function startWorker(entry: URL, opts: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, opts);
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { ...opts, eval: true });
}
