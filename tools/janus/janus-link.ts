/**
 * The UDP socket under a NodePeer talking to Janus. Differs from openUdpLink in two ways Janus needs:
 * - it binds before the remote is known, so the publish offer can carry its host candidate (without
 *   one Janus logs "No remote candidates" and relies on a peer-reflexive candidate);
 * - it answers Janus's connectivity checks: libnice, even in ICE-lite mode, sends a triggered check
 *   back and only nominates the pair once that check is answered (RFC 8445 §7.3: a full agent answers).
 */
import { createSocket } from 'node:dgram';
import { buildBindingSuccess, parseStun, verifyFingerprint, verifyMessageIntegrity } from '../../src/transport/ice/stun-message.ts';
import type { IceCredentials } from '../../src/transport/ice/ice-lite.ts';
import type { PeerLink } from '../client/peer-link.ts';

export interface JanusLink extends PeerLink {
  /** Where datagrams go from now on; only datagrams from there reach the peer. */
  setRemote(ip: string, port: number): void;
  readonly counters: { checksAnswered: number; checksRejected: number; keepalives: number; strays: number };
  /**
   * Resolves once we have answered a check from Janus (false after `timeoutMs`). Checking only then
   * matters when we are the DTLS client: otherwise our check can be answered while libnice still waits
   * for our answer to its own, our ClientHello arrives before its component is ready, Janus drops it,
   * and the handshake waits ~500 ms for a retransmission.
   */
  checkAnswered(timeoutMs: number): Promise<boolean>;
  /** Called with each datagram from the remote after the peer handled it (receiver reports watch this). */
  afterDatagram: (buf: Buffer) => void;
}

const STUN_BINDING = 0x0001;

/** Binds a UDP socket on `bindIp` answering checks made with `ice` (ours: USERNAME "<our ufrag>:<theirs>"). */
export async function openJanusLink(ice: IceCredentials, bindIp = '127.0.0.1'): Promise<JanusLink> {
  const socket = createSocket({ type: bindIp.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, bindIp, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let remote: { ip: string; port: number } | null = null;
  let closed = false;
  const counters = { checksAnswered: 0, checksRejected: 0, keepalives: 0, strays: 0 };
  let answered: Array<() => void> = [];
  const link: JanusLink = {
    address: bindIp,
    port: socket.address().port,
    counters,
    onDatagram: () => {},
    afterDatagram: () => {},
    setRemote: (ip, port) => void (remote = { ip, port }),
    checkAnswered: (timeoutMs) =>
      counters.checksAnswered > 0
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              resolve(true);
            };
            const timer = setTimeout(() => {
              answered = answered.filter((f) => f !== done);
              resolve(false);
            }, timeoutMs);
            answered.push(done);
          }),
    send: (buf) => {
      if (!closed && remote) socket.send(buf, remote.port, remote.ip);
    },
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
  const prefix = `${ice.ufrag}:`;
  socket.on('message', (msg, rinfo) => {
    if (msg.length > 0 && msg[0] <= 3) {
      const m = parseStun(msg);
      if (typeof m !== 'string' && m.method === STUN_BINDING) {
        // Libnice's keepalives are Binding indications: nothing to answer.
        if (m.cls === 'indication') return void counters.keepalives++;
        if (m.cls === 'request') {
          // Its checks may come before we have read the answer: reply to the sender, authenticated with our password.
          if (m.username?.startsWith(prefix) && m.integrityOffset >= 0 && verifyFingerprint(msg, m) && verifyMessageIntegrity(msg, m, ice.pwd)) {
            counters.checksAnswered++;
            if (!closed) socket.send(buildBindingSuccess(m.transactionId, { address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : 4 }, ice.pwd), rinfo.port, rinfo.address);
            const waiting = answered;
            answered = [];
            for (const f of waiting) f();
          } else counters.checksRejected++;
          return;
        }
      }
    }
    if (remote && rinfo.address === remote.ip && rinfo.port === remote.port) {
      link.onDatagram(msg);
      link.afterDatagram(msg);
    } else counters.strays++;
  });
  socket.on('error', () => undefined); // ICMP unreachable after Janus closed: callers notice by timing out
  return link;
}
