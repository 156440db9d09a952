import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Participant } from './participant.ts';

/** The signaling connection that holds a session now. */
export interface SessionHolder {
  /** Another connection took the session over: let go of it without closing it. */
  release(): void;
}

interface Entry {
  participant: Participant;
  token: Buffer;
  holder: SessionHolder;
}

/**
 * Sessions a new signaling connection may take over with `resume` (a client whose network changed: its old
 * WebSocket died with the old address). The participant keeps its place, its producers and consumers and both
 * transports; the client then restarts ICE on them. Only the bearer of the secret given at join can resume.
 */
export class ResumableSessions {
  private readonly byId = new Map<string, Entry>();

  /** A new session: returns the secret its client presents to resume it. */
  open(participant: Participant, holder: SessionHolder): string {
    const token = randomBytes(24);
    this.byId.set(participant.id, { participant, token, holder });
    return token.toString('base64url');
  }

  /** Hand the session to `holder` if `token` is its secret and it is still alive; the old holder lets go. */
  take(participantId: string, token: string, holder: SessionHolder): Participant | null {
    const e = this.byId.get(participantId);
    if (!e) return null;
    const given = Buffer.from(token, 'base64url');
    if (given.length !== e.token.length || !timingSafeEqual(given, e.token)) return null;
    if (e.participant.closed) {
      this.byId.delete(participantId);
      return null;
    }
    const old = e.holder;
    e.holder = holder;
    if (old !== holder) old.release();
    return e.participant;
  }

  /** The session ended (left, failed, or nobody resumed it in time). */
  close(participant: Participant): void {
    if (this.byId.get(participant.id)?.participant === participant) this.byId.delete(participant.id);
  }

  get size(): number {
    return this.byId.size;
  }
}
