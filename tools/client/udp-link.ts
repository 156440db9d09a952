import { createSocket } from 'node:dgram';
import type { PeerLink } from './peer-link.ts';

/**
 * A UDP socket on loopback talking to one server address: the real network under a NodePeer. The socket
 * is connected (connect(2)): the kernel then drops datagrams from anyone else and each send skips the
 * per-call address handling, which matters when one process drives hundreds of peers.
 */
export async function openUdpLink(remoteIp: string, remotePort: number, bindIp = defaultBind(remoteIp)): Promise<PeerLink> {
  const socket = createSocket({ type: remoteIp.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, bindIp, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(remotePort, remoteIp, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let closed = false;
  const link: PeerLink = {
    address: bindIp,
    port: socket.address().port,
    onDatagram: () => {},
    send: (buf) => {
      if (!closed) socket.send(buf);
    },
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
  socket.on('message', (msg) => link.onDatagram(msg));
  socket.on('error', () => undefined); // ICMP unreachable after the server closed: the test notices by timing out
  return link;
}

/**
 * Loopback for a loopback server; otherwise any address, so the kernel sends from the address that reaches
 * the server and the connected socket accepts its answers (a socket on 127.0.0.1 connected to an interface
 * address gets its replies from 127.0.0.1, which the connection filters out).
 */
function defaultBind(remoteIp: string): string {
  if (remoteIp.startsWith('127.') || remoteIp === '::1') return remoteIp === '::1' ? '::1' : '127.0.0.1';
  return remoteIp.includes(':') ? '::' : '0.0.0.0';
}
