import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { startTestServer } from '../testkit/proxima.ts';
import { waitFor } from '../testkit/browser.ts';
import { garbage, isStunSuccess, rtpLike, stunCheck } from '../testkit/hostile/datagrams.ts';
import { xorshift } from '../testkit/hostile/sdp-mutations.ts';
import { FrameReader, frame } from '../../src/transport/tcp/frame-reader.ts';
import { dropCount } from '../../src/metrics/drop-reasons.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

/** A raw client of the ICE-TCP port: RFC 4571 frames out, frames in, and whether the server hung up. */
class TcpClient {
  readonly frames: Buffer[] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.reader.push(d, (f) => this.frames.push(f)));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => resolve(new TcpClient(s)));
      s.once('error', reject);
    });
  }
  send(buf: Buffer): void {
    this.socket.write(frame(buf));
  }
}

describe('hostile traffic at the ICE-TCP port', () => {
  let server: ProximaServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  it('media before ICE: the connection is closed and the frame counted; garbage lengths and cut frames never crash', async () => {
    const port = server.media.tcp!.port;
    const rnd = xorshift(7);
    const before = dropCount('tcp_unauthenticated');
    const c = await TcpClient.connect(port);
    c.send(rtpLike(rnd, 1234, 96));
    await waitFor('the server to close a connection that sent media before ICE', () => c.closed, 5000, 20);
    assert.equal(dropCount('tcp_unauthenticated'), before + 1);

    // Random bytes (any length prefixes, frames cut anywhere), STUN-looking garbage, then a hang-up mid-frame.
    const clients = await Promise.all(Array.from({ length: 20 }, () => TcpClient.connect(port)));
    for (const [i, k] of clients.entries()) {
      if (i % 2 === 0) k.socket.write(garbage(rnd, Math.floor(rnd() * 256), 1 + Math.floor(rnd() * 3000)));
      else k.send(garbage(rnd, i % 4, 20 + Math.floor(rnd() * 200)));
    }
    const cut = await TcpClient.connect(port);
    cut.socket.write(Buffer.from([0x04, 0x00, 0x00, 0x01, 0x00]));
    cut.socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    for (const k of clients) k.socket.destroy();

    // The port still serves an authenticated check, over TCP, on a fresh connection.
    const t = server.media.createTransport('peerUfrag', null, 'pub');
    try {
      const ok = await TcpClient.connect(port);
      ok.send(stunCheck(`${t.local.ufrag}:peerUfrag`, t.local.pwd));
      await waitFor('a STUN success over TCP', () => ok.frames.some(isStunSuccess), 5000, 20);
      await waitFor('ICE to select the TCP path', () => t.remoteProtocol === 'tcp' && t.remotePort === ok.socket.localPort, 5000, 20);
      ok.socket.destroy();
    } finally {
      t.close();
    }
  });
});
