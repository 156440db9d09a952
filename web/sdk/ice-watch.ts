/**
 * Watches one RTCPeerConnection and restarts its ICE when the path is lost (the network changed under a
 * live session, RFC 8445 §9): `disconnected` for longer than `disconnectedMs`, or `failed`. A restart that
 * has not connected after `recheckMs` is followed by another; after `maxRestarts` the connection is
 * reported failed, and reported recovered if it comes back after all. A DTLS failure (connectionState
 * `failed` while ICE is up) is reported at once: no ICE restart can mend it.
 */
export interface IceWatchHandler {
  /** Restart ICE now; false when it cannot be done now (no signaling): the watch asks again later. */
  restart(reason: string): boolean;
  failed(reason: string): void;
  recovered(): void;
  /** The path went away (ICE `disconnected`): a hint that the network may have changed. */
  lost?(): void;
}

export interface IceWatchOptions {
  disconnectedMs: number;
  recheckMs: number;
  maxRestarts: number;
}

export const ICE_WATCH_DEFAULTS: IceWatchOptions = { disconnectedMs: 1500, recheckMs: 5000, maxRestarts: 3 };

type WatchedPc = Pick<RTCPeerConnection, 'iceConnectionState' | 'connectionState' | 'addEventListener' | 'removeEventListener'>;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class IceWatch {
  /** Restarts since the connection was last connected. */
  restarts = 0;
  /** Given up on (reported failed) and not connected since. */
  failed = false;
  private timer: unknown = null;
  private stopped = false;
  private readonly onChange = () => this.check();
  private readonly opts: IceWatchOptions;

  constructor(
    private readonly pc: WatchedPc,
    private readonly h: IceWatchHandler,
    opts: Partial<IceWatchOptions> = {},
    private readonly timers: Timers = realTimers,
  ) {
    this.opts = { ...ICE_WATCH_DEFAULTS, ...opts };
    pc.addEventListener('iceconnectionstatechange', this.onChange);
    pc.addEventListener('connectionstatechange', this.onChange);
  }

  /** Restart now (e.g. the signaling had to be resumed: the network probably changed), counted like any other. */
  restartNow(reason: string): void {
    if (!this.stopped) this.attempt(reason);
  }

  stop(): void {
    this.stopped = true;
    this.clear();
    this.pc.removeEventListener('iceconnectionstatechange', this.onChange);
    this.pc.removeEventListener('connectionstatechange', this.onChange);
  }

  private get iceUp(): boolean {
    const s = this.pc.iceConnectionState;
    return s === 'connected' || s === 'completed';
  }

  private check(): void {
    if (this.stopped) return;
    const ice = this.pc.iceConnectionState;
    if (this.pc.connectionState === 'failed' && this.iceUp) {
      this.clear();
      this.giveUp('DTLS failed');
      return;
    }
    if (this.iceUp) {
      this.clear();
      this.restarts = 0;
      if (this.failed) {
        this.failed = false;
        this.h.recovered();
      }
      return;
    }
    if (ice === 'failed') {
      this.clear();
      this.attempt('ICE failed');
    } else if (ice === 'disconnected' && this.timer === null) {
      this.h.lost?.();
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        if (!this.iceUp) this.attempt(`ICE disconnected for ${this.opts.disconnectedMs} ms`);
      }, this.opts.disconnectedMs);
    }
  }

  private attempt(reason: string): void {
    this.clear();
    if (this.restarts >= this.opts.maxRestarts) {
      this.giveUp(`${reason}; ${this.opts.maxRestarts} ICE restarts did not bring it back`);
      return;
    }
    if (this.h.restart(reason)) this.restarts++;
    // Not connected by then (still checking, or the restart could not be sent): once more.
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (!this.stopped && !this.iceUp) this.attempt('no connection after an ICE restart');
    }, this.opts.recheckMs);
  }

  private giveUp(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.h.failed(reason);
  }

  private clear(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
