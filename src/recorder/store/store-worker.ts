// The recorder's storage thread: owns the SQLite file, validates what it is given, answers queries.
// Writes and reads block only this thread (a checkpoint, a long query), never the media.
import { parentPort, workerData } from 'node:worker_threads';
import { parseEvent, type RecorderEvent } from '../events.ts';
import { SqliteEventStore } from './sqlite-store.ts';
import type { StoreInit, StoreReply, StoreRequest } from './store-protocol.ts';

const port = parentPort!;
const init = workerData as StoreInit;
const reply = (m: StoreReply) => port.postMessage(m);

let store: SqliteEventStore;
try {
  store = new SqliteEventStore(init.path);
} catch (e) {
  reply({ t: 'fatal', message: (e as Error).message });
  process.exit(1);
}
reply({ t: 'ready' });

port.on('message', (m: StoreRequest) => {
  if (m.t === 'append') {
    const valid: RecorderEvent[] = [];
    let invalid = 0;
    let firstInvalid: string | undefined;
    for (const e of m.events) {
      try {
        valid.push(parseEvent(e));
      } catch (err) {
        invalid++;
        firstInvalid ??= `${(e as { kind?: unknown }).kind}: ${(err as Error).message.slice(0, 300)}`;
      }
    }
    try {
      store.append(valid, m.streamSeq);
      reply({ t: 'appended', stored: valid.length, invalid, ...(firstInvalid ? { firstInvalid } : {}), bytes: store.sizeBytes() });
    } catch (err) {
      // A full disk, a locked file: the batch is lost and said so; the next one tries again.
      reply({ t: 'appended', stored: 0, invalid, bytes: 0, failed: (err as Error).message });
    }
    return;
  }
  try {
    switch (m.t) {
      case 'query':
        reply({ t: 'ok', id: m.id, value: store.query(m.q) });
        return;
      case 'streamSeq':
        reply({ t: 'ok', id: m.id, value: store.streamSeq() });
        return;
      case 'spaces':
        reply({ t: 'ok', id: m.id, value: store.spaces() });
        return;
      case 'prune': {
        let n = 0;
        for (let k = store.prune(m.beforeTs); k > 0; k = store.prune(m.beforeTs)) n += k;
        reply({ t: 'ok', id: m.id, value: n });
        return;
      }
      case 'close':
        store.close();
        reply({ t: 'ok', id: m.id, value: null });
        port.close();
        return;
    }
  } catch (err) {
    reply({ t: 'error', id: m.id, message: (err as Error).message });
  }
});
