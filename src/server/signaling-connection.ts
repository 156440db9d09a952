import type { WebSocket } from 'ws';
import { encodeServerMessage, parseClientMessage, serverMessage, type ClientMessage, type ServerMessage } from '../signaling/messages.ts';
import { Participant, RequestError } from './participant.ts';
import type { SpaceRegistry } from './space-registry.ts';
import type { MediaServer } from './media-server.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/** Messages per second a client may send (token bucket), and the burst it may save up. */
const RATE_PER_S = 50;
const BURST = 100;
/** Rate-limited messages within FLOOD_WINDOW_MS after which the connection is closed (1008, policy violation). */
const MAX_LIMITED_IN_WINDOW = 1000;
const FLOOD_WINDOW_MS = 10_000;
/** Replies queued for a client that does not read them, after which it is closed. */
const MAX_BUFFERED_BYTES = 4 << 20;

/**
 * One WebSocket: validates every message, runs it against the participant, answers with a typed
 * response or a typed error. Closing the socket is leaving the space.
 */
export class SignalingConnection {
  private participant: Participant | null = null;
  private tokens = BURST;
  private limitedInWindow = 0;
  private limitedSince = -Infinity;
  private lastRefill: number;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly spaces: SpaceRegistry,
    private readonly media: MediaServer,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.lastRefill = clock.now();
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? 'binary' : String(data)));
    ws.on('close', () => this.close('socket closed'));
    ws.on('error', (e) => this.log.warn('websocket error', { err: e }));
  }

  private send(m: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeServerMessage(m));
  }

  private onMessage(raw: string): void {
    if (!this.takeToken()) {
      // A client that keeps flooding, or stops reading our replies, is cut off rather than buffered for.
      const now = this.clock.now();
      if (now - this.limitedSince > FLOOD_WINDOW_MS) {
        this.limitedSince = now;
        this.limitedInWindow = 0;
      }
      if (++this.limitedInWindow > MAX_LIMITED_IN_WINDOW || this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        this.log.warn('signaling flood: closing connection', { limited: this.limitedInWindow, buffered: this.ws.bufferedAmount });
        this.ws.close(1008, 'rate limit exceeded');
        return;
      }
      this.send(serverMessage.error('rate_limited', `more than ${RATE_PER_S} messages per second`, cheapRequestId(raw)));
      return;
    }
    if (raw === 'binary') {
      this.send(serverMessage.error('bad_request', 'binary frames are not part of the protocol'));
      return;
    }
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      this.send(parsed.error);
      return;
    }
    try {
      this.handle(parsed.msg);
    } catch (e) {
      const id = 'id' in parsed.msg ? parsed.msg.id : undefined;
      if (e instanceof RequestError) {
        this.send(serverMessage.error(e.code, e.message, id));
      } else {
        this.log.error('request failed', { type: parsed.msg.type, err: e as Error });
        this.send(serverMessage.error('internal', 'internal error', id));
      }
    }
  }

  private handle(msg: ClientMessage): void {
    if (msg.type === 'ping') {
      this.send(serverMessage.pong(msg.id));
      return;
    }
    if (msg.type === 'join') {
      if (this.participant) {
        this.send(serverMessage.error('already_joined', 'this connection already joined a space', msg.id));
        return;
      }
      const space = this.spaces.getOrCreate(msg.space);
      const p = new Participant(msg.name, space, this.media, this.clock, this.log.child({ space: space.id }), (m) => this.send(m));
      p.onFailed = (reason) => this.ws.close(4000, reason.slice(0, 120));
      space.add(p);
      this.participant = p;
      this.log.info('participant joined', { participant: p.id, name: msg.name, space: space.id });
      this.send(serverMessage.joined(msg.id, { participantId: p.id, publishers: space.publishers(p) }));
      return;
    }
    const p = this.participant;
    if (!p || p.closed) {
      const id = 'id' in msg ? msg.id : undefined;
      this.send(serverMessage.error('not_joined', 'join a space first', id));
      return;
    }
    switch (msg.type) {
      case 'publish': {
        const r = p.publish(msg.sdp);
        this.send(serverMessage.publishAnswer(msg.id, r));
        return;
      }
      case 'subscribe': {
        const trackIds = p.subscribe(msg.publisherId, msg.trackIds);
        this.send(serverMessage.subscribed(msg.id, { publisherId: msg.publisherId, trackIds }));
        return;
      }
      case 'unsubscribe': {
        const trackIds = p.unsubscribe(msg.publisherId, msg.trackIds);
        this.send(serverMessage.unsubscribed(msg.id, { publisherId: msg.publisherId, trackIds }));
        return;
      }
      case 'subscriberAnswer':
        p.subscriberAnswer(msg.offerId, msg.sdp);
        return;
      case 'leave':
        this.leave('left');
        this.send(serverMessage.left(msg.id));
        return;
    }
  }

  private leave(reason: string): void {
    const p = this.participant;
    this.participant = null;
    if (!p) return;
    p.close(reason);
    this.spaces.releaseIfEmpty(p.space);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.leave(reason);
  }

  private takeToken(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.lastRefill) * RATE_PER_S) / 1000);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The request id of a rate-limited message, when it is small enough to look at cheaply. */
function cheapRequestId(raw: string): string | number | undefined {
  if (raw.length > 4096) return undefined;
  try {
    const id = (JSON.parse(raw) as { id?: unknown })?.id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 64) return id;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return id;
  } catch {
    /* not JSON: no id to echo */
  }
  return undefined;
}
