/**
 * What every KV user here needs: a watch that says when its initial snapshot is in, CAS conflict
 * detection, and keys for arbitrary ids.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import type { Logger } from '../../util/logger.ts';

export interface BucketWatch {
  stop(): void;
}

/**
 * Watches a whole bucket (the last value of every key, then every change, in revision order) and resolves
 * once the snapshot that existed at the call has been delivered. The client's own `isUpdate` flag cannot
 * tell an empty bucket from a slow one, so we compare against the stream's last sequence instead: the
 * message at that sequence is the last on its key, so the watch is bound to deliver it (or something newer).
 */
export async function watchBucket(kv: KV, onEntry: (e: KvEntry) => void, log: Logger, timeoutMs = 10_000): Promise<BucketWatch> {
  const state = (await kv.status()).streamInfo.state;
  const snapshotSeq = state.messages === 0 ? 0 : state.last_seq;
  const iter = await kv.watch();
  let stopped = false;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  if (snapshotSeq === 0) markReady();
  void (async () => {
    try {
      for await (const e of iter) {
        if (stopped) break;
        try {
          onEntry(e);
        } catch (err) {
          log.error('kv watch handler threw', { bucket: e.bucket, key: e.key, err });
        }
        if (e.revision >= snapshotSeq) markReady();
      }
    } catch (err) {
      if (!stopped) log.warn('kv watch ended', { err });
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`kv watch: snapshot up to revision ${snapshotSeq} not delivered within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (err) {
    iter.stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      iter.stop();
    },
  };
}

/** JetStream "wrong last sequence" (10071): a CAS (create / update / conditional delete) lost the race. */
export function isCasConflict(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 10071 || code === 10164) return true;
  const msg = (err as { message?: unknown }).message;
  return typeof msg === 'string' && msg.includes('wrong last sequence');
}

/**
 * A KV key token for any id: [A-Za-z0-9_-] stay, every other character becomes `=XX` (hex of its UTF-8
 * bytes, and `=` itself is escaped), so the mapping is one-to-one and keys stay readable in `nats kv ls`.
 */
export function escapeKey(id: string): string {
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `=${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of escapeKey; null for a key we did not make. */
export function unescapeKey(token: string): string | null {
  if (!/^(?:[A-Za-z0-9_-]|=[0-9a-f]{2})+$/.test(token)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '=') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  const id = Buffer.from(bytes).toString('utf8');
  return escapeKey(id) === token ? id : null;
}

/** Entry → its value bytes, or null for a delete/purge marker. */
export function valueOf(e: KvEntry): Uint8Array | null {
  return e.operation === 'PUT' ? e.value : null;
}
