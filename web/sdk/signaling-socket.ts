/** A promise-per-request wrapper over the signaling WebSocket (protocol v1, see src/signaling/messages.ts). */
export type ServerPush = { type: string; [k: string]: unknown };

export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * Close code the SDK reports when it gave up on a socket itself: a ping went unanswered (a network change
 * leaves a socket that neither delivers nor closes for minutes) or the socket would not open in time.
 */
export const SILENT_CLOSE_CODE = 4900;

/** How the socket decides the server is gone when nothing closes it (see keepAlive). */
export interface KeepAlive {
  /** A ping this often (when the last one was answered). */
  everyMs: number;
  /** Dead when a ping is unanswered and nothing at all came for this long... */
  deadAfterMs: number;
  /** ...and the ping has been out at least this long (a timer a background tab delayed sent it late). */
  replyMs: number;
}

export const DEFAULT_KEEPALIVE: KeepAlive = { everyMs: 1000, deadAfterMs: 1500, replyMs: 750 };
const KEEPALIVE_TICK_MS = 250;

export class SignalingSocket {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: ServerPush) => void; reject: (e: Error) => void }>();
  private closed = false;
  private lastHeard = performance.now();
  /** When the unanswered ping (or probe) went out, or null. */
  private askedAt: number | null = null;
  private keep: KeepAlive = DEFAULT_KEEPALIVE;
  private pinger: ReturnType<typeof setInterval> | null = null;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  onPush: (m: ServerPush) => void = () => {};
  onClose: (code: number, reason: string) => void = () => {};

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (ev) => {
      this.lastHeard = performance.now();
      this.onMessage(String(ev.data));
    };
    ws.onclose = (ev) => this.finish(ev.code, ev.reason);
  }

  /** Rejects when the socket does not open within `timeoutMs` (a host that vanished never refuses). */
  static open(url: string, timeoutMs = 4000): Promise<SignalingSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.onopen = ws.onerror = null;
        ws.close();
        reject(new Error(`no answer from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new SignalingSocket(ws));
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${url}`));
      };
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  request(type: string, body: Record<string, unknown> = {}): Promise<ServerPush> {
    if (this.closed) return Promise.reject(new Error(`signaling closed (${type} not sent)`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ v: 1, id, type, ...body }));
    });
  }

  notify(type: string, body: Record<string, unknown> = {}): void {
    if (!this.closed) this.ws.send(JSON.stringify({ v: 1, type, ...body }));
  }

  /**
   * Ping while open; when a ping is unanswered and nothing at all arrived for `deadAfterMs`, the socket is
   * closed with SILENT_CLOSE_CODE (a new network leaves the old socket neither delivering nor closing). A
   * ping goes out only when the last one was answered, and a silence counts only once a ping has had
   * `replyMs` to be answered, so a throttled timer (a background tab) never makes a live socket look dead.
   */
  keepAlive(k: KeepAlive = DEFAULT_KEEPALIVE): void {
    if (this.closed || this.pinger) return;
    this.keep = k;
    this.pinger = setInterval(() => this.tick(), Math.min(KEEPALIVE_TICK_MS, k.everyMs));
  }

  /** Something suggests the network changed (a connection lost its path): ask now, give up after `withinMs`. */
  probe(withinMs = 1000): void {
    if (this.closed || this.probeTimer) return;
    const at = performance.now();
    this.askedAt ??= at;
    this.ping();
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (!this.closed && this.lastHeard < at) this.giveUp(`no answer to a ping within ${withinMs} ms`);
    }, withinMs);
  }

  /** Close it ourselves: pending requests are rejected, `onClose` is not called. */
  close(): void {
    this.ws.onclose = this.ws.onmessage = null;
    this.ws.close();
    this.finish(1000, 'closed by the client', false);
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.askedAt !== null && this.lastHeard < this.askedAt) {
      if (now - this.askedAt > this.keep.replyMs && now - this.lastHeard > this.keep.deadAfterMs) this.giveUp(`nothing from the server for ${Math.round(now - this.lastHeard)} ms`);
      return;
    }
    if (this.askedAt !== null && now - this.askedAt < this.keep.everyMs) return;
    this.askedAt = now;
    this.ping();
  }

  private ping(): void {
    this.request('ping').catch(() => undefined);
  }

  private giveUp(reason: string): void {
    // The browser may take minutes to close a dead TCP connection: we do not wait for it. If the socket
    // still carries frames after all, the code tells the server to keep the session for our resume.
    this.ws.onclose = this.ws.onmessage = null;
    this.ws.close(SILENT_CLOSE_CODE, 'client resumes on a new socket');
    this.finish(SILENT_CLOSE_CODE, reason);
  }

  private finish(code: number, reason: string, notify = true): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.pinger = this.probeTimer = null;
    for (const p of this.pending.values()) p.reject(new Error(`signaling closed (${code} ${reason})`));
    this.pending.clear();
    if (notify) this.onClose(code, reason);
  }

  private onMessage(text: string): void {
    let m: ServerPush & { id?: number; code?: string; message?: string };
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof m.id === 'number' && this.pending.has(m.id)) {
      const p = this.pending.get(m.id)!;
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(new SignalingError(m.code ?? 'error', m.message ?? ''));
      else p.resolve(m);
      return;
    }
    this.onPush(m);
  }
}
