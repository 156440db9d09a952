import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDtlsCertificate, type DtlsCertificate } from './certificate.ts';
import { DtlsSession, type DtlsKeys, type DtlsRole, type SrtpPreference } from './dtls-session.ts';

type Outcome = { keys?: DtlsKeys; failed?: string };

/**
 * Two sessions wired back to back in memory. `presented` lets one side present a certificate whose private
 * key it does not hold (an impostor with the victim's public certificate and its own key).
 */
async function handshake(opts: { clientCert: DtlsCertificate; serverCert: DtlsCertificate; expectClient: DtlsCertificate; expectServer: DtlsCertificate; serverPrefers?: SrtpPreference }) {
  const result: Record<DtlsRole, Outcome> = { client: {}, server: {} };
  let server: DtlsSession;
  let client: DtlsSession;
  const done = new Promise<void>((resolve) => {
    const settle = () => {
      const c = result.client;
      const s = result.server;
      if ((c.keys || c.failed) && (s.keys || s.failed)) resolve();
      if (c.failed || s.failed) setTimeout(resolve, 300);
    };
    server = new DtlsSession('server', opts.serverCert, { algorithm: 'sha-256', value: opts.expectClient.fingerprint }, {
      send: (d) => setImmediate(() => client.handle(d)),
      onConnected: (k) => ((result.server.keys = k), settle()),
      onFailed: (r) => ((result.server.failed = r), settle()),
    }, opts.serverPrefers);
    client = new DtlsSession('client', opts.clientCert, { algorithm: 'sha-256', value: opts.expectServer.fingerprint }, {
      send: (d) => setImmediate(() => server.handle(d)),
      onConnected: (k) => ((result.client.keys = k), settle()),
      onFailed: (r) => ((result.client.failed = r), settle()),
    });
    client.start();
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  server!.close();
  client!.close();
  return result;
}

const [alice, bob, mallory] = await Promise.all([createDtlsCertificate(), createDtlsCertificate(), createDtlsCertificate()]);
/** Alice's public certificate with Mallory's private key. */
const aliceImpostor: DtlsCertificate = { ...alice, keyPem: mallory.keyPem };

test('an honest handshake agrees on SRTP keys in both roles', async () => {
  const r = await handshake({ clientCert: alice, serverCert: bob, expectClient: alice, expectServer: bob });
  assert.ok(r.client.keys && r.server.keys, `both connected (${r.client.failed ?? ''} ${r.server.failed ?? ''})`);
  assert.equal(r.client.keys.profile, 'AEAD_AES_128_GCM');
  assert.deepEqual(r.client.keys.localKey, r.server.keys.remoteKey);
  assert.deepEqual(r.client.keys.remoteSalt, r.server.keys.localSalt);
});

test('the DTLS server’s preference picks the SRTP profile from the two the client offers (RFC 5764 §4.1.2)', async () => {
  for (const [prefers, profile] of [['gcm', 'AEAD_AES_128_GCM'], ['aes-cm', 'AES_CM_128_HMAC_SHA1_80']] as const) {
    const r = await handshake({ clientCert: alice, serverCert: bob, expectClient: alice, expectServer: bob, serverPrefers: prefers });
    assert.equal(r.server.keys?.profile, profile, `server prefers ${prefers}`);
    assert.equal(r.client.keys?.profile, profile, 'both sides agree');
  }
});

test('a certificate that does not match the SDP fingerprint fails the handshake', async () => {
  const r = await handshake({ clientCert: mallory, serverCert: bob, expectClient: alice, expectServer: bob });
  assert.equal(r.server.keys, undefined);
  assert.match(r.server.failed ?? '', /does not match the SDP fingerprint/);
});

test('a client presenting someone else’s certificate without its private key is refused (CertificateVerify)', async () => {
  const r = await handshake({ clientCert: aliceImpostor, serverCert: bob, expectClient: alice, expectServer: bob });
  assert.equal(r.server.keys, undefined, 'the server derived no keys for the impostor');
  assert.match(r.server.failed ?? '', /CertificateVerify: signature does not verify/);
});

test('a server presenting someone else’s certificate without its private key is refused (ServerKeyExchange)', async () => {
  const r = await handshake({ clientCert: bob, serverCert: aliceImpostor, expectClient: bob, expectServer: alice });
  assert.equal(r.client.keys, undefined, 'the client derived no keys for the impostor');
  assert.match(r.client.failed ?? '', /ServerKeyExchange: signature does not verify/);
});

test('DTLS record framing: well-formed datagrams pass, garbage is refused before werift sees it', async () => {
  const { isWellFormedDtls } = await import('./dtls-session.ts');
  const record = (type: number, len: number, major = 254) => Buffer.concat([Buffer.from([type, major, 253, 0, 0, 0, 0, 0, 0, 0, 0, len >> 8, len & 0xff]), Buffer.alloc(len, 1)]);
  const cases: Array<[string, Buffer, boolean]> = [
    ['one handshake record', record(22, 40), true],
    ['two records back to back', Buffer.concat([record(22, 10), record(20, 1)]), true],
    ['application data', record(23, 100), true],
    ['empty record body', record(21, 0), true],
    ['shorter than a header', Buffer.from([22, 254, 253]), false],
    ['unknown content type', record(24, 10), false],
    ['TLS (not DTLS) version', record(22, 10, 3), false],
    ['length beyond the datagram', record(22, 10).subarray(0, 20), false],
    ['trailing bytes after the last record', Buffer.concat([record(22, 10), Buffer.from([1, 2])]), false],
  ];
  for (const [name, buf, ok] of cases) assert.equal(isWellFormedDtls(buf), ok, name);
});
