import type { LinkChange } from '../proximity/proximity-engine.ts';
import { serverMessage, type LinkInfo } from '../signaling/messages.ts';
import type { Space } from './space.ts';
import type { Speaker } from './speaker.ts';
import type { Clock } from '../util/clock.ts';

/** Link sets (gains) reach a listener at most this often; changes in between are folded together. */
const LINKS_FLUSH_MS = 100;

/**
 * Makes the media follow the proximity engine: for each link change, the listener subscribes to or
 * unsubscribes from the speaker's tracks (the minimum of changes: only what changed), and the listener is
 * told its new link set (who, at which gain). A speaker who publishes later is subscribed then.
 * A listener may opt out of a granted link (explicit unsubscribe); the opt-out lasts until the link ends.
 */
export class SubscriptionManager {
  /** listener → speakers it opted out of. */
  private readonly optedOut = new Map<string, Set<string>>();
  private readonly dirtyLinks = new Set<string>();
  private flushScheduled = false;

  constructor(
    private readonly space: Space,
    private readonly clock: Clock,
  ) {}

  apply(changes: readonly LinkChange[]): void {
    for (const c of changes) {
      const listener = this.space.participants.get(c.listener);
      if (!listener) continue;
      this.dirtyLinks.add(c.listener);
      if (c.kind === 'add') {
        const speaker = this.space.speaker(c.speaker);
        if (speaker && !this.isOptedOut(c.listener, c.speaker)) listener.followSpeaker(speaker);
        // Speaking is pushed only to those linked: a new listener learns that the speaker talks already.
        if (this.space.engine.person(c.speaker)?.speaking) listener.send(serverMessage.speaking(c.speaker, true));
      } else if (c.kind === 'remove') {
        this.optedOut.get(c.listener)?.delete(c.speaker);
        listener.unfollowSpeaker(c.speaker);
      }
    }
    this.scheduleLinksFlush();
  }

  /** A speaker's tracks changed: everyone linked to it receives what is new. */
  publisherChanged(speaker: Speaker): void {
    for (const listener of this.space.participants.values()) {
      if (listener === speaker || !this.space.isGranted(listener.id, speaker.id) || this.isOptedOut(listener.id, speaker.id)) continue;
      listener.followSpeaker(speaker);
    }
  }

  optOut(listenerId: string, speakerId: string): void {
    let s = this.optedOut.get(listenerId);
    if (!s) this.optedOut.set(listenerId, (s = new Set()));
    s.add(speakerId);
  }

  optIn(listenerId: string, speakerId: string): void {
    this.optedOut.get(listenerId)?.delete(speakerId);
  }

  forget(participantId: string): void {
    this.optedOut.delete(participantId);
    for (const s of this.optedOut.values()) s.delete(participantId);
    this.dirtyLinks.delete(participantId);
  }

  linksOf(listenerId: string): LinkInfo[] {
    return [...this.space.engine.linksOf(listenerId)].map(([participantId, l]) => ({ participantId, gain: round3(l.gain), priority: l.priority }));
  }

  private isOptedOut(listenerId: string, speakerId: string): boolean {
    return this.optedOut.get(listenerId)?.has(speakerId) ?? false;
  }

  /**
   * Link sets go out after all changes of a move are applied, and at most every LINKS_FLUSH_MS: a walk
   * or a talkative neighbour re-weights links several times a second, and each push costs the page work.
   */
  private scheduleLinksFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.clock.setTimeout(() => {
      this.flushScheduled = false;
      for (const id of this.dirtyLinks) this.space.participants.get(id)?.linksChanged(this.linksOf(id));
      this.dirtyLinks.clear();
    }, LINKS_FLUSH_MS);
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
