/**
 * Cluster mode: every node publishes its recorder batches to one NATS JetStream stream (the engine the
 * cluster already runs on) and reads everyone else's into its own store, so any node serves the merged
 * timeline of a space that spanned several nodes (docs/recorder.md, "Cluster mode"). A batch is one
 * message on `proxima.recorder.<node>`; the stream keeps them for the recorder's retention. The position
 * read is stored with what it brought (the store's `stream_seq`): a restart resumes after it.
 */
import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RecorderEvent } from './events.ts';
import type { StoreClient } from './store/store-client.ts';
import type { Logger } from '../util/logger.ts';

export const RECORDER_STREAM = 'PROXIMA_RECORDER';
const SUBJECT_PREFIX = 'proxima.recorder.';
/** Below NATS's default max_payload (1 MiB), with room for headers. */
const MAX_MESSAGE_BYTES = 900 * 1024;

export interface ClusterStreamOptions {
  nc: NatsConnection;
  node: string;
  store: StoreClient;
  retentionMs: number;
  log: Logger;
  /** A batch could not be published (the count is lost to the other nodes, not to this one). */
  onPublishFailed: (events: number, why: string) => void;
}

export class ClusterRecorderStream {
  private messages: ConsumerMessages | null = null;
  private closed = false;
  /** Other nodes' events stored here so far. */
  received = 0;

  private constructor(
    private readonly o: ClusterStreamOptions,
    private readonly js: JetStreamClient,
  ) {}

  static async start(o: ClusterStreamOptions): Promise<ClusterRecorderStream> {
    const jsm = await jetstreamManager(o.nc);
    const config = {
      name: RECORDER_STREAM,
      subjects: [`${SUBJECT_PREFIX}>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: o.retentionMs * 1_000_000, // nanoseconds
      max_msg_size: MAX_MESSAGE_BYTES + 64 * 1024,
    };
    try {
      await jsm.streams.add(config);
    } catch (e) {
      // Another node made it at the same moment (or earlier, maybe with another retention): use it as it is.
      await jsm.streams.info(RECORDER_STREAM).catch(() => {
        throw e;
      });
    }
    const s = new ClusterRecorderStream(o, jetstream(o.nc));
    await s.follow();
    return s;
  }

  /** Publishes this node's batch (already stored here); never waits for the acknowledgement. */
  publish(events: readonly RecorderEvent[]): void {
    if (this.closed || events.length === 0) return;
    for (const chunk of chunks(events)) {
      const body = `[${chunk.join(',')}]`;
      this.js.publish(`${SUBJECT_PREFIX}${this.o.node}`, body).catch((e: Error) => this.o.onPublishFailed(chunk.length, e.message));
    }
  }

  /** Reads the stream from after the last message stored here: other nodes' batches go into the store. */
  private async follow(): Promise<void> {
    const after = await this.o.store.streamSeq();
    // No subject filter: the stream holds only recorder batches (and Debian's nats-server 2.9 has no filter_subjects).
    const consumer = await this.js.consumers.get(RECORDER_STREAM, {
      ...(after > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 } : { deliver_policy: DeliverPolicy.All }),
    });
    this.messages = await consumer.consume();
    const own = `${SUBJECT_PREFIX}${this.o.node}`;
    void (async () => {
      try {
        for await (const m of this.messages!) {
          let events: RecorderEvent[] = [];
          if (m.subject !== own) {
            try {
              events = m.json<RecorderEvent[]>();
              if (!Array.isArray(events)) throw new Error('not an array of events');
            } catch (e) {
              this.o.log.warn('recorder stream: a message that is not a batch of events: skipped', { subject: m.subject, seq: m.seq, err: e as Error });
              events = [];
            }
          }
          // Each event is validated by the store; the position moves on with it either way.
          this.o.store.append(events, m.seq);
          this.received += events.length;
        }
      } catch (e) {
        if (!this.closed) this.o.log.error('recorder stream: reading stopped', { err: e as Error });
      }
    })();
  }

  close(): void {
    this.closed = true;
    this.messages?.stop();
  }
}

/** The events as JSON, cut into messages under MAX_MESSAGE_BYTES (JSON length: ASCII ids, near enough). */
function* chunks(events: readonly RecorderEvent[]): Generator<string[]> {
  let chunk: string[] = [];
  let bytes = 0;
  for (const e of events) {
    const json = JSON.stringify(e);
    if (bytes + json.length + 1 > MAX_MESSAGE_BYTES && chunk.length > 0) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(json);
    bytes += json.length + 1;
  }
  if (chunk.length > 0) yield chunk;
}
