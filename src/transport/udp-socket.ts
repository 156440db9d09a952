/**
 * The media UDP sockets, for the server and the benches that measure its packet path: 4 MiB kernel
 * buffers each way, so a burst (a keyframe to many subscribers) waits in the kernel instead of being dropped.
 *
 * Sends keep dgram's resolver step, which answers an IP literal on the next tick: answering at once
 * (a `lookup` option) puts each send syscall between the JS work of the next packet, and measured slower
 * (bench/forwarding.ts --networks udp, 10 subscribers: 62–66k against 67–77k packets per CPU-second in
 * alternating runs) than letting the sends of a burst follow its JS work.
 */
import { createSocket, type Socket } from 'node:dgram';

export function bindMediaSocket(type: 'udp4' | 'udp6', port: number, ip: string): Promise<Socket> {
  const socket = createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  return new Promise<Socket>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, ip, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
