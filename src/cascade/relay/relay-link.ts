/**
 * What TrackRelay and RelaySink need of the link that carries tracks to other media cores: between nodes
 * the encrypted UDP RelayEndpoint (src/transport/relay), between the media workers of one node the
 * shared-memory rings of WorkerRelayLink (src/transport/workers). Peers are named by id; streams by
 * (originNum, streamId); packets go as the publisher's core decrypted them.
 */
export interface RelayLink {
  sendRtp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): boolean;
  sendRtcp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): boolean;
  sendControl(peerId: string, buf: Buffer, offset: number, length: number): boolean;
  /** Round-trip time to the peer in ms, 0 or less when unknown. */
  rttMs(peerId: string): number;
  /** A stream ended: per-stream state of the link (replay windows) can go. */
  forgetStream(originNum: number, streamId: number): void;
}
