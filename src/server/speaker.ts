import type { PublishedTrack } from './participant-media.ts';
import type { Mode, PersonInfo, PublisherInfo } from '../signaling/messages.ts';

/**
 * Someone a local listener can see and receive: a participant of this node, or (cluster mode) a person
 * hosted by another node whose tracks arrive over relays (src/cascade/remote-person.ts). The space, the
 * subscription manager and the subscriber side only ever read these.
 */
export interface Speaker {
  readonly id: string;
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly mode: Mode;
  readonly spotlit: boolean;
  /** Tracks by track id (relay-fed producers for a remote person). */
  readonly producers: ReadonlyMap<string, PublishedTrack>;
  readonly closed: boolean;
  /** Hosted by another node. */
  readonly remote: boolean;
  personInfo(): PersonInfo;
  publisherInfo(): PublisherInfo;
}
