import type { RtpView } from '../../rtp/rtp-packet.ts';
import type { PacketMeta, RtpSink } from '../../media/media-types.ts';
import type { Producer, ProducerLayer } from '../../media/producer.ts';
import type { RelayLink } from './relay-link.ts';
import type { LayerTarget } from '../../allocation/types.ts';

/**
 * A track's packets towards one other node: just another sink on the producer (local or relay-fed), so
 * a relay costs the packet path what a subscriber costs minus the rewriting. Only the layers the far node
 * wants cross the link, each exactly once whatever the number of subscribers behind it; RTP goes as the
 * origin received it (its SSRC, sequence numbers and extensions), and the far node's producer rebuilds
 * loss, cache and keyframe state from it.
 */
export class RelaySink implements RtpSink {
  readonly id: string;
  /** Per layer (a=simulcast order): wanted by the far node. */
  private active: boolean[];
  lastWantMs: number;

  constructor(
    readonly peerId: string,
    readonly producer: Producer,
    private readonly originNum: number,
    private readonly streamIds: readonly number[],
    private readonly endpoint: RelayLink,
    nowMs: number,
  ) {
    this.id = `relay:${peerId}:${producer.id}`;
    this.active = producer.layers.map(() => true);
    this.lastWantMs = nowMs;
  }

  /** The far node's latest want for this track. */
  setActive(active: readonly boolean[], nowMs: number): void {
    const n = this.producer.layers.length;
    for (let i = 0; i < n; i++) this.active[i] = active.length === 0 ? true : (active[i] ?? false);
    this.lastWantMs = nowMs;
  }

  forward(view: RtpView, meta: PacketMeta): void {
    const i = meta.layer.index;
    if (!this.active[i]) return;
    this.endpoint.sendRtp(this.peerId, this.originNum, this.streamIds[i]!, view.buf, view.start, view.length);
  }

  /** Padding closes a sequence gap the far node would otherwise NACK: it crosses too (it is small). */
  skip(view: RtpView, layer: ProducerLayer): void {
    if (!this.active[layer.index]) return;
    this.endpoint.sendRtp(this.peerId, this.originNum, this.streamIds[layer.index]!, view.buf, view.start, view.length);
  }

  /** Dynacast: the layers the far node wants are wanted here (spatial ranks of this producer). */
  demandMask(): number {
    if (this.producer.kind !== 'video') return 0;
    let m = 0;
    const layers = this.producer.layers;
    for (let i = 0; i < layers.length; i++) if (this.active[i]) m |= 1 << layers[i]!.spatial;
    return m;
  }

  demand(): LayerTarget | null {
    return null;
  }
}
