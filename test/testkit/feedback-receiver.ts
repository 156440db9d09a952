/**
 * A NodeClient's subscriber that answers like a browser (NACK, PLI, receiver reports, transport-wide
 * feedback) through the load generator's receiver, so the server's estimate and allocation for it are real.
 */
import type { NodeClient } from '../../tools/client/node-client.ts';
import { LoadReceiver } from '../../tools/loadgen/receive/receiver.ts';
import { systemClock } from '../../src/util/clock.ts';

/** Give `wire` as (or inside) the client's `beforeJoin`; `close()` when done. */
export function feedbackReceiver(): { receiver: LoadReceiver; wire(c: NodeClient): void; close(): void } {
  let client: NodeClient | null = null;
  const receiver = new LoadReceiver(() => client?.subscriber ?? null, systemClock);
  return {
    receiver,
    wire(c) {
      client = c;
      c.onSubscriberPeer = (peer) => {
        peer.onRtp = (v) => receiver.handleRtp(v);
        peer.onRtcp = (p) => receiver.handleRtcp(p);
      };
      c.onSubscribeTracks = (tracks) => {
        const live = tracks.filter((t) => t.direction === 'sendonly' && t.ssrc !== undefined && t.streamId);
        receiver.setStreams(
          live.map((t) => ({ publisherId: t.streamId!, kind: t.kind, ssrc: t.ssrc!, ...(t.rtxSsrc !== undefined ? { rtxSsrc: t.rtxSsrc } : {}) })),
          live.find((t) => t.ext.transportCc)?.ext.transportCc ?? 0,
        );
      };
    },
    close: () => receiver.close(),
  };
}
