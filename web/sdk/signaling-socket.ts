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

export class SignalingSocket {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: ServerPush) => void; reject: (e: Error) => void }>();
  onPush: (m: ServerPush) => void = () => {};
  onClose: (code: number, reason: string) => void = () => {};

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (ev) => this.onMessage(String(ev.data));
    ws.onclose = (ev) => {
      for (const p of this.pending.values()) p.reject(new Error(`signaling closed (${ev.code} ${ev.reason})`));
      this.pending.clear();
      this.onClose(ev.code, ev.reason);
    };
  }

  static open(url: string): Promise<SignalingSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new SignalingSocket(ws));
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  request(type: string, body: Record<string, unknown> = {}): Promise<ServerPush> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ v: 1, id, type, ...body }));
    });
  }

  notify(type: string, body: Record<string, unknown> = {}): void {
    this.ws.send(JSON.stringify({ v: 1, type, ...body }));
  }

  close(): void {
    this.ws.close();
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
