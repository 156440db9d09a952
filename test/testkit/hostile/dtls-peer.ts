import { DtlsClient, DtlsServer, type DtlsSocket } from 'werift-dtls/lib/dtls/src/index.js';
import { ECDSA_SHA256 } from '../../../src/transport/dtls/certificate.ts';
import type { UdpPeer } from './datagrams.ts';

/**
 * A DTLS-SRTP endpoint in this process speaking to the SFU from a `UdpPeer`, with whatever certificate
 * and private key it is given — including a certificate whose key it does not hold.
 */
export class DtlsPeer {
  readonly socket: DtlsSocket;
  /** Resolves once werift reports the handshake done on our side. */
  readonly connected: Promise<void>;
  error: string | null = null;
  private readonly adapter: { onData: (b: Buffer) => void };

  constructor(peer: UdpPeer, serverPort: number, role: 'client' | 'server', certPem: string, keyPem: string) {
    const adapter = {
      type: 'test',
      closed: false,
      address: { address: '127.0.0.1', port: serverPort, family: 'IPv4' },
      onData: (_b: Buffer) => {},
      send: async (b: Buffer) => {
        peer.send(b, serverPort);
      },
      close: async () => {},
    };
    this.adapter = adapter;
    const options = {
      transport: adapter as never,
      cert: certPem,
      key: keyPem,
      signatureHash: ECDSA_SHA256 as never,
      certificateRequest: true,
      srtpProfiles: [7, 1] as never,
      extendedMasterSecret: true,
    };
    this.socket = role === 'client' ? new DtlsClient(options) : new DtlsServer(options);
    this.socket.onError.subscribe((e: Error) => (this.error = String(e?.message ?? e)));
    peer.socket.on('message', (m: Buffer) => {
      if (m[0]! >= 20 && m[0]! <= 63) this.adapter.onData(m);
    });
    this.connected = new Promise((resolve) => this.socket.onConnect.subscribe(() => resolve()));
    if (role === 'client') (this.socket as DtlsClient).connect().catch((e: unknown) => (this.error = String(e)));
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}
