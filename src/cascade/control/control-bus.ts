/**
 * A thin typed wrapper over one NATS connection: publish validated messages, subscribe with a decoder
 * (invalid input is counted, logged at most once per subject per minute, and dropped), open KV buckets.
 * Subjects and buckets are listed in subjects.ts.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, RequestError, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.ts';
import { createLogger, type Logger } from '../../util/logger.ts';
import { encodeControl, type ControlKind, type ControlMessage, type Decoder } from './messages.ts';

export interface ControlBusOptions {
  /** Connection name, shown by the server (`nats-server` monitoring): use the node id. */
  name: string;
  clock?: Clock;
  log?: Logger;
  /** How long connect() waits for the server. */
  connectTimeoutMs?: number;
  /** Credentials and TLS (config cluster.nats). */
  auth?: NatsAuth;
}

/** How a node authenticates to NATS: one of user/pass, token or a creds file; TLS files optional. */
export interface NatsAuth {
  user?: string;
  pass?: string;
  token?: string;
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export interface BucketOptions {
  /** Values kept per key: 1 is enough for "current state"; CAS uses the revision, not history. */
  history?: number;
}

/** How often `ask` sends another request while none has been answered yet (see there). */
const REASK_MS = 50;

/** How long one subject stays quiet in the log after reporting an invalid message. */
const INVALID_LOG_INTERVAL_MS = 60_000;

export class ControlBus {
  readonly name: string;
  private readonly nc: NatsConnection;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly kvm: Kvm;
  private readonly buckets = new Map<string, Promise<KV>>();
  private readonly subs = new Set<Subscription>();
  private readonly closeHandlers = new Set<() => void>();
  private readonly invalidLoggedAt = new Map<string, number>();
  private closing: Promise<void> | null = null;

  private constructor(nc: NatsConnection, opts: ControlBusOptions) {
    this.nc = nc;
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLogger('warn', { component: 'control-bus', name: opts.name });
    this.kvm = new Kvm(nc);
    // However the connection ends (close(), or the client giving up), everyone using it stops.
    void nc.closed().then((err) => {
      if (err) this.log.warn('nats connection closed with an error', { err });
      this.fireClosed();
    });
  }

  /** The connection itself, for what rides on it besides control messages (the recorder's stream). */
  get connection(): NatsConnection {
    return this.nc;
  }

  static async connect(url: string | string[], opts: ControlBusOptions): Promise<ControlBus> {
    const a = opts.auth ?? {};
    const nc = await connect({
      servers: url,
      name: opts.name,
      ...(a.user !== undefined ? { user: a.user, pass: a.pass ?? '' } : {}),
      ...(a.token !== undefined ? { token: a.token } : {}),
      ...(a.credsFile !== undefined ? { authenticator: credsAuthenticator(new Uint8Array(readFileSync(a.credsFile))) } : {}),
      ...(a.tls !== undefined ? { tls: { ...a.tls } } : {}),
      // A node never hears its own messages: "a heartbeat with my id" then always means another process.
      noEcho: true,
      timeout: opts.connectTimeoutMs ?? 5000,
      // Keep trying for ever: the control plane must come back after a NATS restart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    return new ControlBus(nc, opts);
  }

  get closed(): boolean {
    return this.closing !== null || this.nc.isClosed();
  }

  /** Publish one message; false (and nothing sent) once the bus is closed. Our own invalid message throws. */
  publish<K extends ControlKind>(subject: string, kind: K, msg: ControlMessage<K>): boolean {
    const bytes = encodeControl(kind, msg);
    if (this.closed) return false;
    try {
      this.nc.publish(subject, bytes);
      return true;
    } catch (err) {
      // Draining or closed under us: the message is lost, as it would be on the wire.
      this.log.debug('publish failed', { subject, err });
      return false;
    }
  }

  /**
   * Handler gets each valid message; invalid ones are counted by the decoder, logged here at most once per
   * subject per minute, and dropped. A throwing handler is logged and the subscription goes on.
   * Returns the unsubscribe function.
   */
  subscribe<T>(subject: string, decoder: Decoder<T>, handler: (msg: T, subject: string) => void): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) {
          this.log.warn('subscription error', { subject, err });
          return;
        }
        const r = decoder(m.data);
        if (!r.ok) {
          this.noteInvalid(subject, decoder.kind, r.reason, r.detail);
          return;
        }
        try {
          handler(r.value, m.subject);
        } catch (e) {
          this.log.error('control handler threw', { subject, err: e });
        }
      },
    });
    return this.keep(sub);
  }

  /**
   * Answers every request on `subject` with an empty reply: "this connection is alive". The server drops the
   * subscription the moment the connection ends (a killed process's socket closes), which `ask` sees.
   */
  answer(subject: string): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) return;
        try {
          m.respond();
        } catch {
          // Closed under us: the asker times out, as it would on the wire.
        }
      },
    });
    return this.keep(sub);
  }

  /**
   * Is anyone answering `subject`? 'no-responders' comes from the server at once (NATS 2.2+ no-responders
   * status): nobody holds a subscription there. 'timeout' says nothing either way.
   *
   * One request is not enough to hear that a connection has just ended. The server reads every connection
   * on its own, so nothing orders the end of the answerer's connection (its socket closing, its
   * subscriptions removed when the server reads the EOF) before a request that another connection sends:
   * a request that gets there first is routed to the dying subscription and is never answered, although the
   * answerer is gone. So while nothing definite has come back we ask again every `reaskMs`, each request on
   * its own, until `timeoutMs`; the first 'answered' or 'no-responders' decides. A live answerer holds its
   * subscription throughout, so a later request can never turn its 'answered' into 'no-responders'.
   */
  ask(subject: string, timeoutMs: number, reaskMs = REASK_MS): Promise<'answered' | 'no-responders' | 'timeout' | 'closed'> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const until = this.clock.now() + timeoutMs;
      let done = false;
      let again: TimerHandle | null = null;
      const finish = (r: 'answered' | 'no-responders' | 'timeout' | 'closed') => {
        if (done) return;
        done = true;
        this.clock.clear(deadline);
        if (again) this.clock.clear(again);
        resolve(r);
      };
      const send = () => {
        again = null;
        if (done) return;
        if (this.closed) return finish('closed');
        const left = until - this.clock.now();
        if (left < 1) return;
        this.nc.request(subject, undefined, { timeout: Math.ceil(left) }).then(
          () => finish('answered'),
          (err: unknown) => {
            if (err instanceof RequestError && err.isNoResponders()) finish('no-responders');
            else if (this.closed) finish('closed');
            // This request timed out (or was lost): the others, and the deadline, decide.
          },
        );
        if (left > reaskMs) again = this.clock.setTimeout(send, reaskMs);
      };
      const deadline = this.clock.setTimeout(() => finish(this.closed ? 'closed' : 'timeout'), timeoutMs);
      send();
    });
  }

  /** Held until close (which drops them all); returns the unsubscribe function. */
  private keep(sub: Subscription): () => void {
    this.subs.add(sub);
    return () => {
      if (!this.subs.delete(sub)) return;
      if (!this.nc.isClosed()) sub.unsubscribe();
    };
  }

  /** Logs an invalid message from a subject or a KV bucket, rate-limited per source. */
  noteInvalid(source: string, kind: string, reason: string, detail: string): void {
    const now = this.clock.now();
    const last = this.invalidLoggedAt.get(source);
    if (last !== undefined && now - last < INVALID_LOG_INTERVAL_MS) return;
    this.invalidLoggedAt.set(source, now);
    this.log.warn('invalid control message dropped (further ones counted, logged again in a minute)', { source, kind, reason, detail });
  }

  /** A KV bucket, created if absent (file storage, one replica). One handle per bucket per connection. */
  kv(bucket: string, opts: BucketOptions = {}): Promise<KV> {
    let p = this.buckets.get(bucket);
    if (!p) {
      // Two nodes starting together both create it; the loser's create can fail ("subjects overlap with an
      // existing stream" on nats-server 2.9): the bucket is there then, so open it.
      p = this.kvm.create(bucket, { history: opts.history ?? 1 }).catch((e: Error) => {
        if (!/overlap|already in use|exists/i.test(e.message)) throw e;
        return this.kvm.open(bucket);
      });
      p.catch(() => this.buckets.delete(bucket));
      this.buckets.set(bucket, p);
    }
    return p;
  }

  /** Resolves when the server has seen everything published so far. */
  async flush(): Promise<void> {
    if (!this.closed) await this.nc.flush();
  }

  /** Called once when the connection ends, for whatever reason. Returns the unregister function. */
  onClose(fn: () => void): () => void {
    this.closeHandlers.add(fn);
    return () => this.closeHandlers.delete(fn);
  }

  /** Flushes and closes the connection. Idempotent. Peers see this like a crash unless a Leave went first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.subs.clear();
      if (!this.nc.isClosed()) {
        try {
          await this.nc.close();
        } catch (err) {
          this.log.debug('close failed', { err });
        }
      }
      this.fireClosed();
    })();
    return this.closing;
  }

  private fireClosed(): void {
    const handlers = [...this.closeHandlers];
    this.closeHandlers.clear();
    for (const fn of handlers) {
      try {
        fn();
      } catch (err) {
        this.log.error('close handler threw', { err });
      }
    }
  }
}
