import type { Participant } from './participant.ts';
import type { PublisherInfo } from '../signaling/messages.ts';
import type { Producer } from '../media/producer.ts';

/**
 * A space: the people in it and what they publish. For now every participant may subscribe to any
 * publisher of the space explicitly; the proximity engine will drive the same subscription calls.
 */
export class Space {
  readonly participants = new Map<string, Participant>();

  constructor(readonly id: string) {}

  get empty(): boolean {
    return this.participants.size === 0;
  }

  add(p: Participant): void {
    this.participants.set(p.id, p);
  }

  remove(p: Participant): void {
    this.participants.delete(p.id);
  }

  publishers(except?: Participant): PublisherInfo[] {
    const out: PublisherInfo[] = [];
    for (const p of this.participants.values()) if (p !== except && p.producers.size > 0) out.push(p.publisherInfo());
    return out;
  }

  /** Tell everyone else that `publisher`'s tracks changed (or that it stopped publishing). */
  announceTracks(publisher: Participant, firstTime: boolean): void {
    const info = publisher.publisherInfo();
    for (const p of this.participants.values()) {
      if (p === publisher) continue;
      p.notifyPublisher(info, firstTime);
    }
  }

  announceLeft(publisher: Participant): void {
    for (const p of this.participants.values()) if (p !== publisher) p.notifyPublisherLeft(publisher.id);
  }

  /** A producer went away: every subscriber drops its consumers of it. */
  producerClosed(producer: Producer): void {
    for (const p of this.participants.values()) p.onProducerClosed(producer);
  }
}
