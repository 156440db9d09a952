/**
 * Wakes a reader that has gone idle on its rings, without a message per packet: the reader says it is
 * asleep, the writer that finds it asleep bumps a counter and notifies once. A reader that is busy is never
 * notified (it drains its rings before it sleeps again), so under load a wake-up costs nothing per packet.
 * Atomics.waitAsync keeps the reader's event loop running (Atomics.wait would block it).
 */
/** ES2024 (Node ≥ 16); the project's lib is ES2022. */
type WaitAsync = (a: Int32Array, i: number, v: number, t: number) => { async: false; value: string } | { async: true; value: Promise<string> };

const SEQ = 0;
const SLEEPING = 1;

export class Doorbell {
  readonly sab: SharedArrayBuffer;
  private readonly w: Int32Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(8);
    this.w = new Int32Array(this.sab);
  }

  /** Writer side, after a record was published. */
  ring(): void {
    if (Atomics.load(this.w, SLEEPING) === 0) return;
    Atomics.store(this.w, SLEEPING, 0);
    Atomics.add(this.w, SEQ, 1);
    Atomics.notify(this.w, SEQ);
  }

  /**
   * Reader side: announce sleep and return the counter to wait on. The reader checks its rings once more
   * after this (a record written before the announcement rang nobody), then waits on the returned value.
   */
  prepareSleep(): number {
    Atomics.store(this.w, SLEEPING, 1);
    return Atomics.load(this.w, SEQ);
  }

  /** The reader found work after prepareSleep: stay awake. */
  cancelSleep(): void {
    Atomics.store(this.w, SLEEPING, 0);
  }

  /** Resolves when a writer rang after `seq` was read (at once if it already did), or after `timeoutMs`. */
  wait(seq: number, timeoutMs: number): Promise<unknown> | null {
    const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(this.w, SEQ, seq, timeoutMs);
    return r.async ? r.value : null;
  }
}
