import WebSocket from 'ws';
import { ServerMessageSchema } from '../../../src/signaling/messages.ts';
import { guestToken } from '../proxima.ts';

export type Msg = { type: string; id?: string | number; code?: string; message?: string; [k: string]: unknown };

/**
 * A raw signaling client: sends whatever it is told (valid or not) and keeps every frame the server
 * sends, checking each against the protocol's own schema.
 */
export class WsProbe {
  readonly received: Msg[] = [];
  /** Frames that are not valid server messages (must stay empty). */
  readonly malformed: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private cursor = 0;
  private nextId = 1;
  /** Pending `next` calls, woken on every frame and on close. */
  private readonly waiters = new Set<() => void>();
  isClosed = false;

  private constructor(
    readonly ws: WebSocket,
    private readonly httpUrl: string,
  ) {
    ws.on('message', (data, isBinary) => {
      const text = String(data);
      let m: Msg;
      try {
        m = JSON.parse(text) as Msg;
      } catch {
        this.malformed.push(text.slice(0, 200));
        return;
      }
      if (isBinary || !ServerMessageSchema.safeParse(m).success) this.malformed.push(text.slice(0, 200));
      this.received.push(m);
      this.wakeAll();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        this.wakeAll();
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('error', () => undefined); // a close follows; tests assert on that
  }

  /** `origin`: the Origin header a browser page would send (none by default, like a non-browser client). */
  static open(url: string, origin?: string): Promise<WsProbe> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', origin === undefined ? {} : { origin });
      ws.once('open', () => resolve(new WsProbe(ws, url)));
      ws.once('error', reject);
    });
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  /** Send a v1 request with a fresh string id; resolves with the message echoing that id. */
  async request(type: string, body: Record<string, unknown> = {}, timeoutMs = 5000): Promise<Msg> {
    // A well-formed join without a token gets a guest token first, as the web client does.
    if (type === 'join' && body.token === undefined && typeof body.space === 'string' && typeof body.name === 'string') {
      const token = await guestToken(this.httpUrl, body.space, body.name).catch(() => undefined);
      if (token) body = { ...body, token };
    }
    const id = `r${this.nextId++}`;
    this.send({ v: 1, id, type, ...body });
    return this.next(`reply to ${type} ${id}`, (m) => m.id === id, timeoutMs);
  }

  /** The first not-yet-taken message matching `pred` (earlier non-matching ones stay available). */
  async next(what: string, pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((m, k) => k >= this.cursor && pred(m) && !taken.has(m));
      if (i >= 0) {
        const m = this.received[i]!;
        taken.add(m);
        return m;
      }
      const left = end - Date.now();
      if (left <= 0 || this.isClosed) {
        throw new Error(`no ${what} within ${timeoutMs} ms (closed: ${this.isClosed}); got ${JSON.stringify(this.received.slice(-5))}`);
      }
      await new Promise<void>((r) => {
        const wake = () => {
          clearTimeout(t);
          this.waiters.delete(wake);
          r();
        };
        const t = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Forget everything received so far (later `next` calls only see newer messages). */
  skipAll(): void {
    this.cursor = this.received.length;
  }

  /** Abrupt: TCP reset without a close frame. */
  terminate(): void {
    this.ws.terminate();
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

const taken = new WeakSet<Msg>();
