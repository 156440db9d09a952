import type { WebSocket } from 'ws';
import { encodeServerMessage, parseClientMessage, serverMessage, type ClientMessage, type ServerMessage } from '../signaling/messages.ts';
import { Participant } from './participant.ts';
import { RequestError } from './request-error.ts';
import { MoveError } from './space.ts';
import { TokenError, verifyToken, type TokenKeyring } from './auth/tokens.ts';
import type { SpaceRegistry } from './space-registry.ts';
import type { MediaPlane } from './participant-media.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { IceServerInfo } from './auth/turn-credentials.ts';
import type { ResumeMessage } from '../signaling/messages.ts';
import type { SessionHolder } from './resumable-sessions.ts';
import type { TimerHandle } from '../util/clock.ts';
import { kindOf, type SignalingLimiter } from './signaling-limits.ts';
import { limitStats } from '../metrics/registry.ts';

/** Rate-limited messages within FLOOD_WINDOW_MS after which the connection is closed (1008, policy violation). */
const MAX_LIMITED_IN_WINDOW = 1000;
const FLOOD_WINDOW_MS = 10_000;
/** Replies queued for a client that does not read them, after which it is closed. */
const MAX_BUFFERED_BYTES = 4 << 20;
/**
 * A socket that died without a close frame (1006: a reset, a proxy timeout) leaves its session this long for
 * the client to `resume` from a new connection; any other close is leaving.
 */
export const RESUME_GRACE_MS = 5000;
/** Close code of a client that found this socket silent and is about to resume on a new one (docs/signaling.md). */
export const CLIENT_GAVE_UP_CODE = 4900;
/** Close code of a socket that neither joined nor resumed within limits.signaling.joinDeadlineMs. */
export const JOIN_DEADLINE_CODE = 4008;
/** Messages that may wait behind one whose work is asynchronous (a publish on a media worker). */
const MAX_WAITING = 256;

/** What limits a connection (src/server/signaling-limits.ts): its rate limiter and its join deadline. */
export interface ConnectionLimits {
  limiter: SignalingLimiter;
  joinDeadlineMs: number;
}

/**
 * One WebSocket: validates every message, runs it against the participant, answers with a typed
 * response or a typed error. Closing the socket is leaving the space.
 */
export class SignalingConnection implements SessionHolder {
  private participant: Participant | null = null;
  private graceTimer: TimerHandle | null = null;
  private joinTimer: TimerHandle | null = null;
  private limitedInWindow = 0;
  private limitedSince = -Infinity;
  private closed = false;
  /**
   * Set while a message's work is asynchronous (a publish or an answer handled by a media worker): later
   * messages wait here, so every reply keeps the order of the requests and nothing overtakes a publish.
   */
  private waiting: ClientMessage[] | null = null;

  /** The connection's logger: once joined (or resumed), every line carries the space and participant ids. */
  private log: Logger;

  constructor(
    private readonly ws: WebSocket,
    private readonly spaces: SpaceRegistry,
    private readonly plane: MediaPlane,
    private readonly tokenKeys: TokenKeyring,
    private readonly clock: Clock,
    private readonly baseLog: Logger,
    private readonly iceServersFor: (participantId: string) => IceServerInfo[] = () => [],
    private readonly limits: ConnectionLimits,
    /** The client as its upgrade request named itself (User-Agent), for the recorder's join event. */
    private readonly client: string | null = null,
  ) {
    this.log = baseLog;
    // A socket that never joins holds a file descriptor and a slot of its IP's rate for nothing.
    this.joinTimer = clock.setTimeout(() => {
      this.joinTimer = null;
      if (this.participant || this.closed) return;
      this.log.info('signaling: no join within the deadline, closing', { deadlineMs: limits.joinDeadlineMs });
      limitStats.signalingClosedUnjoined++;
      this.ws.close(JOIN_DEADLINE_CODE, 'join deadline passed');
    }, limits.joinDeadlineMs);
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? 'binary' : String(data)));
    ws.on('close', (code) => {
      if (this.joinTimer) clock.clear(this.joinTimer);
      this.joinTimer = null;
      limits.limiter.release();
      this.onSocketClosed(code);
    });
    ws.on('error', (e) => this.log.warn('websocket error', { err: e }));
  }

  private send(m: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeServerMessage(m));
  }

  /**
   * A refused message: answered rate_limited (with its request id), and a client that keeps flooding — over
   * MAX_LIMITED_IN_WINDOW refusals in FLOOD_WINDOW_MS, refusals sustained for limits.closeAfterLimitedMs, or
   * our replies piling up unread — is cut off (1008) rather than buffered for.
   */
  private refuse(what: string, close: boolean, id: string | number | undefined): void {
    const now = this.clock.now();
    if (now - this.limitedSince > FLOOD_WINDOW_MS) {
      this.limitedSince = now;
      this.limitedInWindow = 0;
    }
    if (close || ++this.limitedInWindow > MAX_LIMITED_IN_WINDOW || this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log.warn('signaling flood: closing connection', { limited: this.limitedInWindow, buffered: this.ws.bufferedAmount, what });
      limitStats.signalingClosedAbuse++;
      this.ws.close(1008, 'rate limit exceeded');
      return;
    }
    this.send(serverMessage.error('rate_limited', what, id));
  }

  private onMessage(raw: string): void {
    if (this.closed) return;
    const admitted = this.limits.limiter.admit('message');
    if (!admitted.ok) {
      this.refuse(admitted.what, admitted.close, cheapRequestId(raw));
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
    const kind = kindOf(parsed.msg.type);
    if (kind !== 'message') {
      const k = this.limits.limiter.admit(kind);
      if (!k.ok) {
        this.refuse(k.what, k.close, 'id' in parsed.msg ? parsed.msg.id : undefined);
        return;
      }
    }
    if (this.waiting) {
      if (this.waiting.length >= MAX_WAITING) return this.refuse('messages waiting behind a publish', true, undefined);
      this.waiting.push(parsed.msg);
      return;
    }
    this.run(parsed.msg);
  }

  /** Handles one message; one whose work is asynchronous holds the later ones until it is answered. */
  private run(msg: ClientMessage): void {
    let work: Promise<void> | void;
    try {
      work = this.handle(msg);
    } catch (e) {
      this.failed(msg, e);
      return;
    }
    if (!work) return;
    this.waiting = [];
    work
      .catch((e: unknown) => this.failed(msg, e))
      .finally(() => {
        const next = this.waiting ?? [];
        this.waiting = null;
        while (next.length > 0 && !this.isWaiting() && !this.closed) this.run(next.shift()!);
        // Another asynchronous one started: the rest keep their place ahead of what arrives meanwhile.
        (this.waiting as ClientMessage[] | null)?.unshift(...next);
      });
  }

  private isWaiting(): boolean {
    return this.waiting !== null;
  }

  private failed(msg: ClientMessage, e: unknown): void {
    const id = 'id' in msg ? msg.id : undefined;
    if (e instanceof RequestError) {
      this.send(serverMessage.error(e.code, e.message, id));
    } else {
      this.log.error('request failed', { type: msg.type, err: e as Error });
      this.send(serverMessage.error('internal', 'internal error', id));
    }
  }

  private handle(msg: ClientMessage): void | Promise<void> {
    if (msg.type === 'ping') {
      this.send(serverMessage.pong(msg.id));
      return;
    }
    if (msg.type === 'resume') {
      this.resume(msg);
      return;
    }
    if (msg.type === 'join') {
      if (this.participant) {
        this.send(serverMessage.error('already_joined', 'this connection already joined a space', msg.id));
        return;
      }
      if (!msg.token) {
        this.send(serverMessage.error('unauthorized', 'a token is required to join (guest tokens: POST /api/token)', msg.id));
        return;
      }
      if (this.spaces.draining) {
        // A node being drained takes nobody new: the client goes to another node of the cluster.
        this.send(serverMessage.error('draining', 'this node is draining: join another node', msg.id));
        this.ws.close(4002, 'node draining: move to another node');
        return;
      }
      let grants;
      try {
        grants = verifyToken(msg.token, this.tokenKeys);
      } catch (e) {
        this.send(serverMessage.error('unauthorized', e instanceof TokenError ? e.message : 'invalid token', msg.id));
        return;
      }
      if (grants.space !== msg.space) {
        this.send(serverMessage.error('unauthorized', `the token is for space ${grants.space}`, msg.id));
        return;
      }
      const space = this.spaces.getOrCreate(msg.space);
      // The token's name is authoritative: a client cannot pose as someone else.
      const p = new Participant(grants.name, grants, space, this.plane, this.clock, this.baseLog.child({ space: space.id }), (m) => this.send(m));
      this.log = this.baseLog.child({ space: space.id, participant: p.id });
      const at = space.placeFor(msg.x, msg.y);
      p.x = at.x;
      p.y = at.y;
      p.mode = msg.mode ?? 'normal';
      p.client = this.client;
      p.onFailed = (reason) => this.ws.close(4000, reason.slice(0, 120));
      this.participant = p;
      this.log.info('participant joined', { participant: p.id, name: p.name, space: space.id, x: p.x, y: p.y });
      const resumeToken = this.spaces.sessions.open(p, this);
      this.send(
        serverMessage.joined(msg.id, {
          resumeToken,
          participantId: p.id,
          iceServers: this.iceServersFor(p.id),
          publishers: space.publishers(p),
          self: p.personInfo(),
          people: space.people(),
          map: space.info,
          grants: { publish: grants.publish, spotlight: grants.spotlight, moderator: grants.moderator },
        }),
      );
      space.add(p);
      return;
    }
    const p = this.participant;
    if (!p || p.closed) {
      const id = 'id' in msg ? msg.id : undefined;
      this.send(serverMessage.error('not_joined', 'join a space first', id));
      return;
    }
    switch (msg.type) {
      case 'publish':
        return p.publish(msg.sdp, msg.sources).then((r) => this.send(serverMessage.publishAnswer(msg.id, r)));
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
      case 'move':
        p.space.move(p, msg.x, msg.y, msg.goTo ?? false).then(
          (at) => this.send(serverMessage.moved(msg.id, at.x, at.y)),
          (e: Error) => this.send(serverMessage.error(e instanceof MoveError ? 'bad_move' : 'internal', e instanceof MoveError ? e.message : 'internal error', msg.id)),
        );
        return;
      case 'setMode':
        p.space.setMode(p, msg.mode);
        this.send(serverMessage.modeSet(msg.id, msg.mode));
        return;
      case 'spotlight': {
        const targetId = msg.participantId ?? p.id;
        const target = p.space.participants.get(targetId);
        const remote = !target && p.space.remotes.has(targetId) && p.space.observer !== null;
        if (!target && !remote) throw new RequestError('unknown_publisher', `no participant ${targetId} in this space`);
        // Per target: oneself with the spotlight grant, anyone else only as a moderator.
        if (targetId === p.id ? !p.grants.spotlight && !p.grants.moderator : !p.grants.moderator) {
          throw new RequestError('forbidden', targetId === p.id ? 'this token does not allow spotlighting' : 'only a moderator may spotlight someone else');
        }
        if (target) p.space.setSpotlight(target, msg.on);
        else p.space.observer!.spotlightRemote(targetId, msg.on);
        this.send(serverMessage.spotlightSet(msg.id, targetId, msg.on));
        return;
      }
      case 'subscriberAnswer':
        return p.subscriberAnswer(msg.offerId, msg.sdp);
      case 'report':
        p.onReport(msg);
        return;
      case 'restartIce':
        this.send(serverMessage.iceRestarted(msg.id, p.restartSubscribeIce()));
        return;
      case 'setMuted':
        p.setMuted(msg.trackId, msg.muted);
        this.send(serverMessage.mutedSet(msg.id, msg.trackId, msg.muted));
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
    if (this.graceTimer) this.clock.clear(this.graceTimer);
    this.graceTimer = null;
    if (!p) return;
    this.spaces.sessions.close(p);
    p.close(reason);
    this.spaces.releaseIfEmpty(p.space);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.leave(reason);
  }

  /**
   * A socket that died without a close frame (1006), or that the client gave up on because it stopped
   * answering (CLIENT_GAVE_UP_CODE), keeps its session for RESUME_GRACE_MS; any other close leaves.
   */
  private onSocketClosed(code: number): void {
    const p = this.participant;
    if (this.closed || (code !== 1006 && code !== CLIENT_GAVE_UP_CODE) || !p || p.closed || this.spaces.closing) {
      this.close('socket closed');
      return;
    }
    this.closed = true;
    p.onFailed = (reason) => this.leave(reason);
    this.graceTimer = this.clock.setTimeout(() => this.leave('signaling lost, not resumed'), RESUME_GRACE_MS);
    this.log.info('signaling lost: session kept for resume', { participant: p.id, graceMs: RESUME_GRACE_MS });
  }

  /** `resume` took the session to another connection: let it go without closing it, and drop this socket. */
  release(): void {
    if (this.graceTimer) this.clock.clear(this.graceTimer);
    this.graceTimer = null;
    this.participant = null;
    this.closed = true;
    // The old socket is usually dead already (its address is gone): no close handshake to wait for.
    this.ws.terminate();
  }

  /** Take over one's session from a dropped connection (src/server/resumable-sessions.ts). */
  private resume(msg: ResumeMessage): void {
    if (this.participant) {
      this.send(serverMessage.error('already_joined', 'this connection already joined a space', msg.id));
      return;
    }
    if (this.spaces.draining) {
      this.send(serverMessage.error('draining', 'this node is draining: join another node', msg.id));
      this.ws.close(4002, 'node draining: move to another node');
      return;
    }
    const p = this.spaces.sessions.take(msg.participantId, msg.resumeToken, this);
    if (!p) {
      this.send(serverMessage.error('resume_failed', 'no such session here (it ended, or the server restarted): join again', msg.id));
      return;
    }
    this.participant = p;
    this.log = this.baseLog.child({ space: p.space.id, participant: p.id });
    p.onFailed = (reason) => this.ws.close(4000, reason.slice(0, 120));
    this.log.info('participant resumed', { participant: p.id, space: p.space.id });
    this.send(
      serverMessage.resumed(msg.id, {
        participantId: p.id,
        self: p.personInfo(),
        people: p.space.people(),
        publishers: p.space.publishers(p),
        links: p.space.subscriptions.linksOf(p.id),
      }),
    );
    p.rebind((m) => this.send(m));
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
