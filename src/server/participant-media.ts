/**
 * The boundary between a participant's control half (the main thread: place, mode, grants, links) and its
 * media half (transports, producers, consumers, the downlink), which lives in this thread (LocalMedia) or on
 * a media worker (WorkerMedia, docs/workers.md). The control half only ever talks to the media half here.
 */
import type { ServerMessage, TrackSource } from '../signaling/messages.ts';
import type { ReceiveCaps } from '../allocation/receive-caps.ts';
import type { LinkInfo } from '../signaling/messages.ts';
import type { Consumer } from '../media/consumer.ts';
import type { DownlinkController } from '../media/downlink-controller.ts';
import type { SubscribeSession } from '../media/subscribe-session.ts';
import type { WebRtcTransport } from '../transport/webrtc-transport.ts';
import type { QualitySample } from '../quality/quality-sampler.ts';
import type { MediaRecord } from '../recorder/events.ts';

/**
 * A published track as the control plane sees it: a Producer when the media is in this thread, a stub when
 * it is on a worker. `muted` is written by the control half (it announces it) and applied by the media half.
 */
export interface PublishedTrack {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  readonly params: { readonly mid: string };
  source: TrackSource;
  muted: boolean;
}

/** What the media half tells its participant. */
export interface MediaEvents {
  /** A push for the client: subscribe offers, dynacast layer wishes. */
  send(m: ServerMessage): void;
  /** The microphone's voice activity changed. */
  speaking(on: boolean): void;
  /** A transport's state changed (failed: the session is dead). */
  transportState(which: 'publish' | 'subscribe', state: string, reason?: string): void;
  /** Once a second while there is media: the server-side inputs of the quality score (src/quality). */
  quality(s: QualitySample): void;
  /** A change the flight recorder keeps: an allocation, a layer switch, a subscription, an offer or answer. */
  record(r: MediaRecord): void;
}

/** The answer to a publish offer and what it changed. */
export interface PublishResult {
  sdp: string;
  added: PublishedTrack[];
  /** Track ids that ended (their media is closed already). */
  removed: string[];
}

export interface ParticipantMedia {
  /** The browser's publish offer (first or renegotiation) → our answer. Errors are RequestErrors. */
  publish(sdp: string, sources?: ReadonlyArray<{ mid: string; source: TrackSource }>): Promise<PublishResult>;
  /** Apply a mute the control half decided (`track.muted` is set already). */
  setMuted(track: PublishedTrack, muted: boolean): void;
  /** Receive these tracks of `publisherId` (ones received already are kept). */
  consume(publisherId: string, tracks: readonly PublishedTrack[]): void;
  /** Stop receiving `publisherId` (or some of its tracks); returns the track ids that ended. */
  stopConsuming(publisherId: string, trackIds?: readonly string[]): string[];
  /** Someone's track ended: drop what we receive of it. */
  trackClosed(trackId: string): void;
  /** The browser answered our subscribe offer `offerId`. Errors are RequestErrors. */
  subscriberAnswer(offerId: number, sdp: string): Promise<void>;
  /** ICE restart of the subscribe connection; false when there is none yet. */
  restartSubscribeIce(): boolean;
  /** The client's signaling moved (resume): what a lost connection may have swallowed goes again. */
  resend(): void;
  /** The listener's links changed (the downlink ranks publishers by these priorities). */
  linksChanged(links: readonly LinkInfo[]): void;
  /** What the device can take changed. */
  capsChanged(caps: ReceiveCaps): void;
  /** Close everything; returns the ids of the tracks that were published. */
  close(reason: string): string[];

  // In-thread only (null on a worker): tests and diagnostics reach into the transports.
  readonly publishTransport: WebRtcTransport | null;
  readonly subscribeTransport: WebRtcTransport | null;
  readonly subscribeSession: SubscribeSession | null;
  readonly downlink: DownlinkController | null;
  consumerOf(trackId: string): Consumer | undefined;
}

/** Allocation inputs of a listener, read by its downlink controller. */
export interface ListenerInputs {
  priorityOf(publisherId: string): number;
  caps(): ReceiveCaps;
  /** The people linked with this one either way now (placement keeps people who stand together on one worker). */
  near(): Iterable<string>;
}

/** Makes the media half of each participant: in this thread, or on a media worker. */
export interface MediaPlane {
  forParticipant(participantId: string, events: MediaEvents, inputs: ListenerInputs): ParticipantMedia;
}
