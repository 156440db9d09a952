/**
 * A UDP sink in a child process: receives and counts datagrams on loopback, so the receiving side's CPU
 * is not charged to the process being measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const SCRIPT = `
const dgram = require('node:dgram');
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
let packets = 0, bytes = 0;
s.on('message', (m) => { packets++; bytes += m.length; });
s.bind(0, '127.0.0.1', () => process.send({ port: s.address().port }));
process.on('message', (m) => {
  if (m === 'count') process.send({ packets, bytes });
  else if (m === 'exit') s.close(() => process.exit(0));
});
`;

export interface UdpSink {
  port: number;
  /** Datagrams received so far. */
  count(): Promise<{ packets: number; bytes: number }>;
  close(): Promise<void>;
}

export async function startUdpSink(): Promise<UdpSink> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>() => new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('error', reject);
  });
  const { port } = await next<{ port: number }>();
  return {
    port,
    count: () => {
      const p = next<{ packets: number; bytes: number }>();
      child.send('count');
      return p;
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send('exit');
      }),
  };
}
