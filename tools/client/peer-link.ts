/**
 * The network under a NodePeer: where its datagrams go (the server's media port) and where the
 * server's datagrams to it arrive. A real UDP socket or a VirtualLink.
 */
export interface PeerLink {
  /** The peer's transport address as the server sees it. */
  readonly address: string;
  readonly port: number;
  send(buf: Buffer): void;
  /** Set by the peer; receives every datagram the server sends to (address, port). */
  onDatagram: (buf: Buffer) => void;
  close(): void;
}
