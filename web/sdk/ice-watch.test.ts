import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IceWatch, type Timers } from './ice-watch.ts';

/** A peer connection whose states the test sets, and timers the test runs by hand. */
class FakePc {
  iceConnectionState: RTCIceConnectionState = 'new';
  connectionState: RTCPeerConnectionState = 'new';
  private readonly fns = new Set<() => void>();
  addEventListener(_: string, fn: () => void): void {
    this.fns.add(fn);
  }
  removeEventListener(_: string, fn: () => void): void {
    this.fns.delete(fn);
  }
  set(ice: RTCIceConnectionState, conn: RTCPeerConnectionState = ice === 'completed' ? 'connected' : (ice as RTCPeerConnectionState)): void {
    this.iceConnectionState = ice;
    this.connectionState = conn;
    for (const f of [...this.fns]) f();
  }
}
class FakeTimers implements Timers {
  now = 0;
  private next = 1;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const [id, t] = [...this.due].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (!t) break;
      this.due.delete(id!);
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
}

function setup(canRestart = () => true) {
  const pc = new FakePc();
  const timers = new FakeTimers();
  const log: string[] = [];
  const watch = new IceWatch(
    pc as unknown as RTCPeerConnection,
    {
      restart: (r) => {
        const ok = canRestart();
        log.push(`${ok ? 'restart' : 'cannot restart'}@${timers.now}: ${r}`);
        return ok;
      },
      failed: (r) => void log.push(`failed@${timers.now}: ${r}`),
      recovered: () => void log.push(`recovered@${timers.now}`),
      lost: () => void log.push(`lost@${timers.now}`),
    },
    { disconnectedMs: 1500, recheckMs: 5000, maxRestarts: 3 },
    timers,
  );
  return { pc, timers, log, watch };
}

test('a short disconnect heals by itself; a longer one restarts ICE after 1.5 s', () => {
  const { pc, timers, log } = setup();
  pc.set('connected');
  pc.set('disconnected');
  timers.advance(1000);
  pc.set('connected');
  timers.advance(5000);
  assert.deepEqual(log, ['lost@0'], 'back within 1.5 s: no restart');
  pc.set('disconnected');
  timers.advance(1499);
  assert.equal(log.length, 2);
  timers.advance(1);
  assert.deepEqual(log.slice(1), ['lost@6000', 'restart@7500: ICE disconnected for 1500 ms']);
  pc.set('checking');
  pc.set('connected');
  timers.advance(20_000);
  assert.equal(log.length, 3, 'connected again: nothing more');
});

test('failed restarts at once; restarts that do not connect repeat every 5 s, then the connection is reported failed', () => {
  const { pc, timers, log, watch } = setup();
  pc.set('connected');
  pc.set('failed');
  assert.deepEqual(log, ['restart@0: ICE failed']);
  pc.set('checking');
  timers.advance(5000);
  timers.advance(5000);
  assert.deepEqual(log.slice(1), ['restart@5000: no connection after an ICE restart', 'restart@10000: no connection after an ICE restart']);
  timers.advance(5000);
  assert.match(log[3]!, /^failed@15000: no connection after an ICE restart; 3 ICE restarts did not bring it back/);
  assert.equal(watch.failed, true);
  timers.advance(60_000);
  pc.set('failed');
  assert.equal(log.length, 4, 'reported once, no more restarts');
  pc.set('connected');
  assert.deepEqual(log.slice(4), ['recovered@75000']);
  assert.equal(watch.restarts, 0);
  pc.set('failed');
  assert.deepEqual(log.slice(5), ['restart@75000: ICE failed'], 'a new episode restarts again');
});

test('a restart that cannot be sent (no signaling) is not counted and is asked for again', () => {
  let signaling = false;
  const { pc, timers, log, watch } = setup(() => signaling);
  pc.set('connected');
  pc.set('failed');
  timers.advance(5000);
  assert.deepEqual(log, ['cannot restart@0: ICE failed', 'cannot restart@5000: no connection after an ICE restart']);
  assert.equal(watch.restarts, 0);
  signaling = true;
  timers.advance(5000);
  assert.equal(log[2], 'restart@10000: no connection after an ICE restart');
  assert.equal(watch.restarts, 1);
});

test('DTLS failure is reported at once, without an ICE restart; restartNow counts; stop ends it all', () => {
  const a = setup();
  a.pc.set('connected');
  a.pc.set('connected', 'failed');
  assert.deepEqual(a.log, ['failed@0: DTLS failed']);
  const b = setup();
  b.pc.set('connected');
  b.watch.restartNow('signaling resumed');
  assert.deepEqual(b.log, ['restart@0: signaling resumed']);
  assert.equal(b.watch.restarts, 1);
  b.watch.stop();
  b.pc.set('failed');
  b.timers.advance(60_000);
  assert.equal(b.log.length, 1);
});
