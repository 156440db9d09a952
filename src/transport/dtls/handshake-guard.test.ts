import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeGuard, isClientHello, type GuardedTransport } from './handshake-guard.ts';

const LIMITS = { maxHandshakes: 3, maxHandshakesPerIp: 2, clientHellosPerS: 2, clientHellosBurst: 4, handshakeTimeoutMs: 10_000, closeAfterMs: 3000 };

class T implements GuardedTransport {
  handshakeDone = false;
  failed: string[] = [];
  failHandshake(reason: string): void {
    this.failed.push(reason);
  }
}

/** A DTLS 1.2 handshake record (RFC 6347 §4.1) whose message is of `msgType` (1 = ClientHello). */
function record(msgType: number): Buffer {
  const b = Buffer.alloc(13 + 12 + 40);
  b[0] = 22;
  b[1] = 0xfe;
  b[2] = 0xfd;
  b.writeUInt16BE(52, 11);
  b[13] = msgType;
  return b;
}

test('ClientHello is recognised by record and handshake type', () => {
  assert.equal(isClientHello(record(1)), true);
  assert.equal(isClientHello(record(2)), false);
  const alert = record(1);
  alert[0] = 21;
  assert.equal(isClientHello(alert), false);
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
  // Hello, cookie hello, two retransmissions: the burst.
  for (let i = 0; i < 4; i++) assert.equal(g.admit(t, '10.0.0.1', record(1), i * 300), null);
  t.handshakeDone = true;
  g.finished(t);
  let dropped = 0;
  let failedAt = -1;
  // 1,000 per second after the handshake, for 5 s.
  for (let ms = 2000; ms < 7000; ms++) {
    if (g.admit(t, '10.0.0.1', record(1), ms + 0.5) === 'dtls_hello_rate_limited') dropped++;
    if (failedAt < 0 && t.failed.length > 0) failedAt = ms;
  }
  assert.ok(dropped > 4980, `${dropped} of 5000 dropped`);
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
