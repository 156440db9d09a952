import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeGuard, isClientHello, type GuardedTransport } from './handshake-guard.ts';

const LIMITS = { maxHandshakes: 3, maxHandshakesPerIp: 2, clientHellosPerS: 2, clientHellosBurst: 10, handshakeTimeoutMs: 10_000, closeAfterMs: 3000 };

class T implements GuardedTransport {
  handshakeDone = false;
  failed: string[] = [];
  failHandshake(reason: string): void {
    this.failed.push(reason);
  }
}

/** A DTLS 1.2 handshake record (RFC 6347 §4.1) whose message is of `msgType` (1 = ClientHello), a fragment at `offset`. */
function record(msgType: number, offset = 0, seq = 0): Buffer {
  const b = Buffer.alloc(13 + 12 + 40);
  b[0] = 22;
  b[1] = 0xfe;
  b[2] = 0xfd;
  b.writeUInt16BE(52, 11);
  b[13] = msgType;
  b.writeUInt16BE(seq, 13 + 4);
  b.writeUIntBE(offset, 13 + 6, 3);
  return b;
}

test('ClientHello is recognised by record and handshake type', () => {
  assert.equal(isClientHello(record(1)), true);
  assert.equal(isClientHello(record(2)), false);
  const alert = record(1);
  alert[0] = 21;
  assert.equal(isClientHello(alert), false);
  assert.equal(isClientHello(record(1, 1175)), false, 'a later fragment of a hello does not start one');
  assert.equal(isClientHello(record(1).subarray(0, 20)), false, 'too short for a handshake header');
});

test('a busy server: Chromium’s two-fragment hello and cookie hello, retransmitted from 50 ms doubling, all pass', () => {
  const g = new HandshakeGuard(LIMITS);
  const t = new T();
  // What a browser sent a late-answering server in a CI run (ms, message_seq): the hello twice, the cookie
  // hello answered twice, then retransmitted at 300, 430, 790 ms — each as two fragments.
  const sent: Array<[number, number]> = [[0, 0], [170, 0], [215, 1], [218, 1], [525, 1], [958, 1], [1748, 1]];
  for (const [ms, seq] of sent) {
    assert.equal(g.admit(t, '10.0.0.1', record(1, 0, seq), ms), null, `hello ${seq} at ${ms} ms`);
    assert.equal(g.admit(t, '10.0.0.1', record(1, 1175, seq), ms + 1), null, `its second fragment at ${ms} ms`);
  }
  assert.deepEqual(t.failed, []);
});

test('handshakes in progress are capped in total and per IP; a finished or closed one frees its slot', () => {
  const g = new HandshakeGuard(LIMITS);
  const [a, b, c, d] = [new T(), new T(), new T(), new T()];
  assert.equal(g.admit(a, '10.0.0.1', record(1), 0), null);
  assert.equal(g.admit(b, '10.0.0.1', record(1), 0), null);
  assert.equal(g.admit(c, '10.0.0.1', record(1), 0), 'dtls_handshake_limit', 'a third from one address');
  assert.equal(g.admit(c, '10.0.0.2', record(1), 0), null);
  assert.equal(g.admit(d, '10.0.0.3', record(1), 0), 'dtls_handshake_limit', 'a fourth in total');
  assert.equal(g.inProgress, 3);
  a.handshakeDone = true;
  g.finished(a);
  assert.equal(g.admit(d, '10.0.0.3', record(1), 0), null);
  g.forget(b);
  assert.equal(g.inProgress, 2);
  // A finished transport's datagrams (alerts, retransmitted last flights) pass without a slot.
  assert.equal(g.admit(a, '10.0.0.1', record(20), 1), null);
});

test('replayed ClientHellos: a real handshake’s hellos pass, a replay flood is dropped and then fails the transport', () => {
  const g = new HandshakeGuard(LIMITS);
  const t = new T();
  // Hello, cookie hello, retransmissions: within the burst.
  for (let i = 0; i < 10; i++) assert.equal(g.admit(t, '10.0.0.1', record(1), i * 100), null);
  t.handshakeDone = true;
  g.finished(t);
  let dropped = 0;
  let failedAt = -1;
  // 1,000 per second after the handshake, for 5 s.
  for (let ms = 2000; ms < 7000; ms++) {
    if (g.admit(t, '10.0.0.1', record(1), ms + 0.5) === 'dtls_hello_rate_limited') dropped++;
    if (failedAt < 0 && t.failed.length > 0) failedAt = ms;
  }
  assert.ok(dropped > 4970, `${dropped} of 5000 dropped`);
  assert.equal(t.failed.length, 1, 'failed once');
  assert.ok(failedAt >= 5000 && failedAt < 5100, `failed after ${failedAt - 2000} ms of refusals`);
});

test('a handshake that never finishes is dropped on its deadline', () => {
  const g = new HandshakeGuard(LIMITS);
  const t = new T();
  g.admit(t, '10.0.0.1', record(1), 0);
  g.expire(9_000);
  assert.deepEqual(t.failed, []);
  g.expire(10_001);
  assert.equal(t.failed.length, 1);
  assert.match(t.failed[0]!, /did not finish within 10000 ms/);
  assert.equal(g.inProgress, 0, 'its slot is free');
});
