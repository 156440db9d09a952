/**
 * One simulated person of a load run, whatever the server: an optional clip publisher and the receivers of
 * what they get. Targets (targets/*.ts) build it over their own signaling.
 */
import type { ClipPublisher } from './publish/clip-publisher.ts';
import type { LoadReceiver } from './receive/receiver.ts';

export interface PersonSpec {
  name: string;
  publish: boolean;
  /** Where to appear (spatial targets). */
  x?: number;
  y?: number;
  /** Clip layer to publish (0 = lowest; default the highest the clip has). */
  videoLayer?: number;
  /** Publish the 15 fps 320x180 thumbnail clip instead (crowds: mingle, walkers, an audience). */
  thumbnail?: boolean;
  /** Publish all three clip layers as rid-based simulcast (q/h/f), as Chrome does; overrides the two above. */
  simulcast?: boolean;
  /** Share of time talking (1 = always; below 1 Opus DTX between spurts). */
  talkShare?: number;
  /** Put themselves in the spotlight after joining (reaches everyone in the space). */
  spotlight?: boolean;
  /** Receive like a client that discards RTX and padding-only packets (ReceiverOptions.discardRtx). */
  discardRtx?: boolean;
}

export interface LoadPerson {
  readonly spec: PersonSpec;
  /** The server's id for this person. */
  readonly id: string;
  /** Clock ms when joining started and when the first video frame was decoded. */
  readonly joinStartedAt: number;
  readonly publisher: ClipPublisher | null;
  readonly receivers: readonly LoadReceiver[];
  /** Problems that did not stop the run (signaling closed, a failed answer…). */
  readonly errors: Error[];
  /** Walk to a tile (spatial targets; others reject). */
  walkTo(x: number, y: number): Promise<void>;
  close(): void;
}

/** Time from starting to join to the first decoded video frame from anyone, or null. */
export function joinToFirstFrameMs(p: LoadPerson): number | null {
  let first: number | null = null;
  for (const r of p.receivers) if (r.firstFrameAt !== null && (first === null || r.firstFrameAt < first)) first = r.firstFrameAt;
  return first === null ? null : first - p.joinStartedAt;
}
