/**
 * A small client of the Janus API over its HTTP transport (REST + long poll): sessions, plugin handles,
 * plugin messages with JSEP. Requests are POSTs answered at once (success, error, or "ack" for
 * asynchronous plugin messages); everything else arrives on one long-poll GET per session.
 */
import { randomBytes } from 'node:crypto';

export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
  trickle?: boolean;
}

/** Any message Janus sends (responses and events). */
export interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: { id?: number; [k: string]: unknown };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: Jsep;
  [k: string]: unknown;
}

/** A plugin's answer to a message: its data, and an SDP when it negotiates. */
export interface PluginReply {
  data: Record<string, unknown>;
  jsep?: Jsep;
}

/** An error from Janus itself (`janus: "error"`) or from a plugin (`error_code` in its data). */
export class JanusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly request: string,
  ) {
    super(`Janus ${request}: error ${code}: ${reason}`);
    this.name = 'JanusError';
  }
}

const tx = () => randomBytes(9).toString('base64url');

/** One POST to the Janus API; rejects on HTTP failure and on `janus: "error"`. */
export async function janusPost(url: string, body: Record<string, unknown>, timeoutMs = 10_000): Promise<JanusMessage> {
  const what = String(body.janus);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new Error(`Janus ${what} at ${url}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`);
  }
  const text = await res.text();
  let msg: JanusMessage;
  try {
    msg = JSON.parse(text) as JanusMessage;
  } catch {
    throw new Error(`Janus ${what} at ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (msg.janus === 'error') throw new JanusError(msg.error?.code ?? -1, msg.error?.reason ?? 'unknown', what);
  return msg;
}

type Pending = { resolve: (m: JanusMessage) => void; reject: (e: Error) => void; what: string };

/** The plugin's data, or a JanusError when it carries one (VideoRoom: `error_code` + `error`). */
function pluginReply(m: JanusMessage, what: string): PluginReply {
  const data = m.plugindata?.data ?? {};
  if (typeof data.error_code === 'number') throw new JanusError(data.error_code, String(data.error ?? ''), what);
  return m.jsep ? { data, jsep: m.jsep } : { data };
}

/** A Janus session: its long-poll loop runs until destroy() (or until Janus forgets the session). */
export class JanusSession {
  /** Session-level events (e.g. `timeout`), oldest first. */
  readonly events: JanusMessage[] = [];
  /** Set once the long poll failed for good; pending requests were rejected with it. */
  failure: Error | null = null;
  onError: (e: Error) => void = () => {};
  private readonly handles = new Map<number, JanusHandle>();
  private readonly pending = new Map<string, Pending>();
  private readonly abort = new AbortController();
  private readonly keepaliveTimer: NodeJS.Timeout;
  private destroyed: Promise<void> | null = null;

  private constructor(
    /** The Janus API root, e.g. http://127.0.0.1:8088/janus */
    readonly baseUrl: string,
    readonly id: number,
    keepaliveMs: number,
  ) {
    // Janus drops sessions idle for session_timeout (60 s by default).
    this.keepaliveTimer = setInterval(() => {
      janusPost(this.url, { janus: 'keepalive', transaction: tx() }).catch(() => undefined);
    }, keepaliveMs);
    this.keepaliveTimer.unref();
    void this.poll();
  }

  static async create(baseUrl: string, opts: { keepaliveMs?: number } = {}): Promise<JanusSession> {
    const r = await janusPost(baseUrl, { janus: 'create', transaction: tx() });
    const id = r.data?.id;
    if (typeof id !== 'number') throw new Error(`Janus create: no session id in ${JSON.stringify(r)}`);
    return new JanusSession(baseUrl, id, opts.keepaliveMs ?? 25_000);
  }

  get url(): string {
    return `${this.baseUrl}/${this.id}`;
  }

  async attach(plugin: string): Promise<JanusHandle> {
    const r = await janusPost(this.url, { janus: 'attach', plugin, transaction: tx() });
    const id = r.data?.id;
    if (typeof id !== 'number') throw new Error(`Janus attach ${plugin}: no handle id in ${JSON.stringify(r)}`);
    const h = new JanusHandle(this, id, plugin);
    this.handles.set(id, h);
    return h;
  }

  /**
   * POSTs `body` with a fresh transaction, registered before sending: the event answering an "ack"
   * may come back on the long poll before the POST's own response does.
   */
  request(url: string, body: Record<string, unknown>, timeoutMs: number): Promise<JanusMessage> {
    if (this.failure) return Promise.reject(this.failure);
    const transaction = tx();
    const what = String(body.request ?? body.janus);
    return new Promise<JanusMessage>((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`Janus ${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const settle = (r: JanusMessage | Error) => {
        if (!this.pending.delete(transaction)) return;
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.pending.set(transaction, { resolve: settle, reject: settle, what });
      janusPost(url, { ...body, transaction }, timeoutMs).then((m) => {
        if (m.janus !== 'ack') settle(m); // synchronous answer; an ack waits for its event
      }, settle);
    });
  }

  /** Detaches nothing by itself: Janus tears the handles down with the session. Safe to call twice. */
  destroy(): Promise<void> {
    return (this.destroyed ??= (async () => {
      clearInterval(this.keepaliveTimer);
      const err = new Error('Janus session destroyed');
      try {
        if (!this.failure) await janusPost(this.url, { janus: 'destroy', transaction: tx() }, 5000);
      } catch {
        // Janus gone or the session already timed out: nothing left to free
      } finally {
        this.abort.abort();
        this.failAll(err);
      }
    })());
  }

  /** @internal a handle's detach */
  forget(handleId: number): void {
    this.handles.delete(handleId);
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const p of [...this.pending.values()]) p.reject(err);
    this.pending.clear();
  }

  private async poll(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        const res = await fetch(`${this.url}?maxev=16`, { signal: this.abort.signal });
        const body = (await res.json()) as JanusMessage | JanusMessage[];
        failures = 0;
        for (const m of Array.isArray(body) ? body : [body]) this.dispatch(m);
      } catch (e) {
        if (this.abort.signal.aborted) return;
        // A few retries ride out a transient refusal; after that (or on "no such session") Janus is gone.
        if (!(e instanceof JanusError) && ++failures < 3) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const err = e instanceof JanusError ? e : new Error(`Janus long poll on session ${this.id} failed: ${(e as Error).message}`);
        clearInterval(this.keepaliveTimer);
        this.failAll(err);
        this.onError(err);
        return;
      }
    }
  }

  private dispatch(m: JanusMessage): void {
    if (m.janus === 'keepalive') return;
    if (m.janus === 'error' && m.error && m.transaction === undefined) {
      // "No such session": it timed out or was destroyed under us.
      throw new JanusError(m.error.code, m.error.reason, 'long poll');
    }
    const p = m.transaction !== undefined ? this.pending.get(m.transaction) : undefined;
    if (p) {
      if (m.janus === 'error') p.reject(new JanusError(m.error?.code ?? -1, m.error?.reason ?? 'unknown', p.what));
      else p.resolve(m);
      return;
    }
    const h = m.sender !== undefined ? this.handles.get(m.sender) : undefined;
    if (h) h.deliver(m);
    else this.events.push(m);
  }
}

/** A plugin handle: messages to the plugin, and the events Janus sends on it. */
export class JanusHandle {
  /** Events not answering one of our requests (webrtcup, media, slowlink, hangup, plugin events), oldest first. */
  readonly events: JanusMessage[] = [];
  onEvent: (m: JanusMessage) => void = () => {};
  private waiters: Array<{ match: (m: JanusMessage) => boolean; resolve: (m: JanusMessage) => void }> = [];
  private detached: Promise<void> | null = null;

  constructor(
    readonly session: JanusSession,
    readonly id: number,
    readonly plugin: string,
  ) {}

  get url(): string {
    return `${this.session.url}/${this.id}`;
  }

  /**
   * A plugin message, optionally with JSEP. Resolves with the plugin's synchronous answer or, after an
   * "ack", with the event answering it; plugin errors reject as JanusError.
   */
  async message(body: Record<string, unknown>, jsep?: Jsep, timeoutMs = 10_000): Promise<PluginReply> {
    const what = String(body.request ?? 'message');
    const m = await this.session.request(this.url, { janus: 'message', body, ...(jsep ? { jsep } : {}) }, timeoutMs);
    return pluginReply(m, what);
  }

  /** Trickles candidates (`{ completed: true }` ends them). */
  async trickle(candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } | { completed: true }): Promise<void> {
    await janusPost(this.url, { janus: 'trickle', candidate, transaction: tx() });
  }

  /** The first event (already received or coming) that `match` accepts. */
  waitForEvent(match: (m: JanusMessage) => boolean, timeoutMs = 10_000, what = 'event'): Promise<JanusMessage> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (m: JanusMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`Janus handle ${this.id}: no ${what} within ${timeoutMs} ms${this.session.failure ? ` (${this.session.failure.message})` : ''}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Closes the PeerConnection and leaves the plugin. Safe to call twice. */
  detach(): Promise<void> {
    return (this.detached ??= (async () => {
      try {
        if (!this.session.failure) await janusPost(this.url, { janus: 'detach', transaction: tx() }, 5000);
      } catch {
        // session already gone
      } finally {
        this.session.forget(this.id);
      }
    })());
  }

  /** @internal from the session's long poll */
  deliver(m: JanusMessage): void {
    this.events.push(m);
    if (this.events.length > 1000) this.events.splice(0, this.events.length - 1000);
    const hit = this.waiters.filter((w) => w.match(m));
    this.waiters = this.waiters.filter((w) => !hit.includes(w));
    for (const w of hit) w.resolve(m);
    this.onEvent(m);
  }
}
