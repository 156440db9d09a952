/**
 * Proxima signaling protocol v1: JSON messages over a WebSocket, validated with zod.
 * Client requests carry `v: 1` and a request `id` that the server echoes in its response;
 * `subscriberAnswer` is fire-and-forget (correlated by `offerId` instead).
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
/** Whole-frame cap, checked before JSON.parse so a hostile client cannot make us parse megabytes. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** SDP cap: a realistic unified-plan offer with a dozen m-lines is ~10 KiB. */
export const MAX_SDP_BYTES = 64 * 1024;

const RequestId = z.union([z.string().min(1).max(64), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);
/** Ids we mint or that come from msid tokens (RFC 8830 token-char subset, no whitespace/CRLF). */
const Ident = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.+\/{}=#-]+$/, 'invalid identifier');
const Sdp = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_SDP_BYTES, `sdp exceeds ${MAX_SDP_BYTES} bytes`);

/** What a published track carries: the microphone, the camera, or a shared screen (a second video). */
export const TRACK_SOURCES = ['microphone', 'camera', 'screen'] as const;
export const TrackSourceSchema = z.enum(TRACK_SOURCES);
export type TrackSource = z.infer<typeof TrackSourceSchema>;
export const TrackInfoSchema = z.object({
  trackId: Ident,
  kind: z.enum(['audio', 'video']),
  mid: z.string().min(1).max(32).optional(),
  /** Absent from older servers: microphone for audio, camera for video. */
  source: TrackSourceSchema.optional(),
  /** The publisher muted it: nothing of it is forwarded until unmuted. */
  muted: z.boolean().optional(),
});
export const PublisherInfoSchema = z.object({
  participantId: Ident,
  name: z.string().min(1).max(64),
  tracks: z.array(TrackInfoSchema).max(64),
});
export type TrackInfo = z.infer<typeof TrackInfoSchema>;
export type PublisherInfo = z.infer<typeof PublisherInfoSchema>;

const req = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ v: z.literal(PROTOCOL_VERSION), id: RequestId, type: z.literal(type), ...shape });

const TrackIds = z.array(Ident).min(1).max(64).optional();

export const MODES = ['normal', 'quiet', 'ghost', 'dnd'] as const;
export const ModeSchema = z.enum(MODES);
export type Mode = z.infer<typeof ModeSchema>;
/** Tile coordinates; the map bounds are checked by the server. */
const Coord = z.number().int().min(0).max(4095);

export const JoinSchema = req('join', {
  space: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'space must be 1..64 of [A-Za-z0-9_-]'),
  // No control characters: names are echoed to other participants' UIs and logs.
  name: z.string().min(1).max(64).regex(/^[^\p{Cc}]+$/u, 'name must not contain control characters'),
  token: z.string().min(1).max(4096).optional(),
  /** Where to appear (default: the map's spawn point); must be walkable. */
  x: Coord.optional(),
  y: Coord.optional(),
  mode: ModeSchema.optional(),
});
/** Step to an adjacent tile, or with goTo walk (the server finds the path, at walking speed) to any tile. */
export const MoveSchema = req('move', { x: Coord, y: Coord, goTo: z.boolean().optional() });
export const SetModeSchema = req('setMode', { mode: ModeSchema });
/** Put yourself (or, with the grant, someone else) in or out of the spotlight. */
export const SpotlightSchema = req('spotlight', { on: z.boolean(), participantId: Ident.optional() });
/** `sources` names what each m-line (by mid) of the offer carries; unnamed ones are microphone/camera by kind. */
export const PublishSchema = req('publish', {
  sdp: Sdp,
  sources: z.array(z.object({ mid: z.string().min(1).max(32), source: TrackSourceSchema })).max(64).optional(),
});
/** Mute (the server stops forwarding the track to everyone) or unmute one of your published tracks. */
export const SetMutedSchema = req('setMuted', { trackId: Ident, muted: z.boolean() });
export const SubscribeSchema = req('subscribe', { publisherId: Ident, trackIds: TrackIds });
export const UnsubscribeSchema = req('unsubscribe', { publisherId: Ident, trackIds: TrackIds });
export const SubscriberAnswerSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: RequestId.optional(),
  type: z.literal('subscriberAnswer'),
  offerId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sdp: Sdp,
});
/**
 * What the browser knows about its own limits, every few seconds (fire-and-forget, like subscriberAnswer):
 * a device hint, decoding effort over the last interval, why its encoder limits quality, and the UI's own
 * receive limits. The server derives this person's receive caps from it (src/allocation/device-caps.ts).
 */
const Count = z.number().int().min(0).max(1_000_000_000);
export const ReportSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: RequestId.optional(),
  type: z.literal('report'),
  device: z.object({ cores: z.number().int().min(1).max(1024).optional(), memoryGb: z.number().min(0).max(4096).optional(), mobile: z.boolean().optional() }).optional(),
  receive: z
    .object({
      intervalMs: z.number().int().min(1).max(60_000),
      videos: z.number().int().min(0).max(1024),
      framesDecoded: Count,
      framesDropped: Count,
      decodeMs: Count,
      freezes: Count.optional(),
    })
    .optional(),
  publish: z
    .object({
      qualityLimitationReason: z.enum(['none', 'cpu', 'bandwidth', 'other']),
      availableOutgoingBitrate: z.number().min(0).max(100_000_000_000).optional(),
      layers: z.array(z.object({ rid: z.string().min(1).max(16), active: z.boolean(), fps: z.number().min(0).max(1000).optional(), height: z.number().int().min(0).max(10_000).optional() })).max(8).optional(),
    })
    .optional(),
  limits: z.object({ maxVideos: z.number().int().min(0).max(1024).optional(), maxHeight: z.number().int().min(1).max(10_000).optional() }).optional(),
});
export const LeaveSchema = req('leave', {});
export const PingSchema = req('ping', {});
/**
 * Take over one's own session from a new connection after the old one dropped (a network change): the
 * participant, its place and its media transports stay; `resumeToken` is the one `joined` gave.
 */
export const ResumeSchema = req('resume', { participantId: Ident, resumeToken: z.string().min(16).max(128) });
/** Ask for an ICE restart of the subscribe connection (RFC 8445 §9): a new subscriberOffer with new credentials follows. */
export const RestartIceSchema = req('restartIce', {});

export const ClientMessageSchema = z.discriminatedUnion('type', [
  JoinSchema,
  MoveSchema,
  SetModeSchema,
  SpotlightSchema,
  PublishSchema,
  SubscribeSchema,
  UnsubscribeSchema,
  SubscriberAnswerSchema,
  ReportSchema,
  SetMutedSchema,
  LeaveSchema,
  PingSchema,
  ResumeSchema,
  RestartIceSchema,
]);
export type JoinMessage = z.infer<typeof JoinSchema>;
export type MoveMessage = z.infer<typeof MoveSchema>;
export type SetModeMessage = z.infer<typeof SetModeSchema>;
export type SpotlightMessage = z.infer<typeof SpotlightSchema>;
export type PublishMessage = z.infer<typeof PublishSchema>;
export type SubscribeMessage = z.infer<typeof SubscribeSchema>;
export type UnsubscribeMessage = z.infer<typeof UnsubscribeSchema>;
export type SubscriberAnswerMessage = z.infer<typeof SubscriberAnswerSchema>;
export type ReportMessage = z.infer<typeof ReportSchema>;
export type SetMutedMessage = z.infer<typeof SetMutedSchema>;
export type LeaveMessage = z.infer<typeof LeaveSchema>;
export type PingMessage = z.infer<typeof PingSchema>;
export type ResumeMessage = z.infer<typeof ResumeSchema>;
export type RestartIceMessage = z.infer<typeof RestartIceSchema>;
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export type RequestId = z.infer<typeof RequestId>;
const CLIENT_TYPES: ReadonlySet<string> = new Set(ClientMessageSchema.options.map((o) => o.shape.type.value));

// ---- server -> client ----

export const ERROR_CODES = [
  'bad_request',
  'unsupported_version',
  'not_joined',
  'already_joined',
  'unknown_publisher',
  'unknown_track',
  'sdp_rejected',
  'unauthorized',
  'forbidden',
  'bad_move',
  'rate_limited',
  // cluster mode: this node is being drained, join another one
  'draining',
  // resume: no such session here (the server restarted, or it was closed): join again
  'resume_failed',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const res = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ v: z.literal(PROTOCOL_VERSION), id: RequestId, type: z.literal(type), ...shape });
const push = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ v: z.literal(PROTOCOL_VERSION), type: z.literal(type), ...shape });

const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export const PersonInfoSchema = z.object({
  id: Ident,
  name: z.string().min(1).max(64),
  x: Coord,
  y: Coord,
  mode: ModeSchema,
  spotlit: z.boolean(),
});
export type PersonInfo = z.infer<typeof PersonInfoSchema>;
const Rect = z.object({ x: Coord, y: Coord, w: z.number().int().min(1), h: z.number().int().min(1) });
/** The map as the client draws it: rows of tiles ('#' and other blocked characters, '.' floor) and areas. */
export const MapInfoSchema = z.object({
  name: z.string(),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  /** `height` strings of `width` characters; `blocked[y][x]` is '1' where nobody can stand. */
  blocked: z.array(z.string()),
  areas: z.array(z.object({ id: z.string(), name: z.string(), kind: z.enum(['private', 'stage']), rects: z.array(Rect) })),
  spawn: z.object({ x: Coord, y: Coord }),
});
export type MapInfo = z.infer<typeof MapInfoSchema>;
/** One link of the listener's desired set: whose media it receives, at which gain (the client applies it). */
export const LinkInfoSchema = z.object({ participantId: Ident, gain: z.number().min(0).max(1), priority: z.number() });
export type LinkInfo = z.infer<typeof LinkInfoSchema>;

export const JoinedSchema = res('joined', {
  participantId: Ident,
  iceServers: z.array(IceServer).optional(),
  publishers: z.array(PublisherInfoSchema),
  self: PersonInfoSchema,
  people: z.array(PersonInfoSchema),
  map: MapInfoSchema,
  /** What the token allows. */
  grants: z.object({ publish: z.boolean(), spotlight: z.boolean(), moderator: z.boolean() }),
  /** Secret for `resume` after a dropped connection. */
  resumeToken: z.string().optional(),
});
export const MovedSchema = res('moved', { x: Coord, y: Coord });
export const ModeSetSchema = res('modeSet', { mode: ModeSchema });
export const SpotlightSetSchema = res('spotlightSet', { participantId: Ident, on: z.boolean() });
/** People who appeared, moved or changed mode (upserts) and who left (removed), batched. */
export const PeopleChangedSchema = push('peopleChanged', { upserts: z.array(PersonInfoSchema), removed: z.array(Ident) });
/** The listener's whole desired link set, sent whenever it changes. */
export const LinksSchema = push('links', { links: z.array(LinkInfoSchema) });
export const PublishAnswerSchema = res('publishAnswer', { sdp: z.string(), tracks: z.array(TrackInfoSchema) });
export const SubscribedSchema = res('subscribed', { publisherId: Ident, trackIds: z.array(Ident) });
export const UnsubscribedSchema = res('unsubscribed', { publisherId: Ident, trackIds: z.array(Ident) });
export const LeftSchema = res('left', {});
export const PongSchema = res('pong', {});
/** The session is this connection's now; what changed meanwhile, as a whole (pushes sent to the old connection were lost). */
export const ResumedSchema = res('resumed', {
  participantId: Ident,
  self: PersonInfoSchema,
  people: z.array(PersonInfoSchema),
  publishers: z.array(PublisherInfoSchema),
  links: z.array(LinkInfoSchema),
});
/** `offer`: a subscriberOffer with new ICE credentials follows (false: nothing is received yet, nothing to restart). */
export const IceRestartedSchema = res('iceRestarted', { offer: z.boolean() });
export const SubscriberOfferSchema = push('subscriberOffer', { offerId: z.number().int().min(0), sdp: z.string() });
export const PublisherJoinedSchema = push('publisherJoined', { publisher: PublisherInfoSchema });
export const PublisherLeftSchema = push('publisherLeft', { participantId: Ident });
export const TracksChangedSchema = push('tracksChanged', { publisher: PublisherInfoSchema });
/** Dynacast, to a publisher: which simulcast layers (rids) of its track someone watches; encode only those. */
export const VideoLayersSchema = push('videoLayers', { trackId: Ident, layers: z.array(z.object({ rid: z.string(), active: z.boolean() })) });
export const MutedSetSchema = res('mutedSet', { trackId: Ident, muted: z.boolean() });
/** Someone you receive (or you yourself) started or stopped speaking, as the server hears it. */
export const SpeakingSchema = push('speaking', { participantId: Ident, speaking: z.boolean() });
const QualityLevelSchema = z.enum(['excellent', 'good', 'poor', 'lost']);
const QualityScoreSchema = z.object({ score: z.number().min(1).max(5), level: QualityLevelSchema, cause: z.string().nullable() });
/**
 * Once a second: this person's connection quality (src/quality, docs/quality.md) receiving (`down`) and
 * sending (`up`), null when there is nothing to judge; `peers`: the sending quality of the people it receives.
 */
export const QualitySchema = push('quality', { down: QualityScoreSchema.nullable(), up: QualityScoreSchema.nullable(), peers: z.record(Ident, QualityLevelSchema) });
export const ErrorSchema = push('error', {
  id: RequestId.optional(),
  code: z.enum(ERROR_CODES),
  message: z.string(),
});
export const ServerMessageSchema = z.discriminatedUnion('type', [
  JoinedSchema,
  MovedSchema,
  ModeSetSchema,
  SpotlightSetSchema,
  PeopleChangedSchema,
  LinksSchema,
  PublishAnswerSchema,
  SubscribedSchema,
  UnsubscribedSchema,
  LeftSchema,
  PongSchema,
  ResumedSchema,
  IceRestartedSchema,
  SubscriberOfferSchema,
  PublisherJoinedSchema,
  PublisherLeftSchema,
  TracksChangedSchema,
  VideoLayersSchema,
  MutedSetSchema,
  SpeakingSchema,
  QualitySchema,
  ErrorSchema,
]);
export type JoinedMessage = z.infer<typeof JoinedSchema>;
export type MovedMessage = z.infer<typeof MovedSchema>;
export type ModeSetMessage = z.infer<typeof ModeSetSchema>;
export type SpotlightSetMessage = z.infer<typeof SpotlightSetSchema>;
export type PeopleChangedMessage = z.infer<typeof PeopleChangedSchema>;
export type LinksMessage = z.infer<typeof LinksSchema>;
export type PublishAnswerMessage = z.infer<typeof PublishAnswerSchema>;
export type SubscribedMessage = z.infer<typeof SubscribedSchema>;
export type UnsubscribedMessage = z.infer<typeof UnsubscribedSchema>;
export type LeftMessage = z.infer<typeof LeftSchema>;
export type PongMessage = z.infer<typeof PongSchema>;
export type ResumedMessage = z.infer<typeof ResumedSchema>;
export type IceRestartedMessage = z.infer<typeof IceRestartedSchema>;
export type SubscriberOfferMessage = z.infer<typeof SubscriberOfferSchema>;
export type PublisherJoinedMessage = z.infer<typeof PublisherJoinedSchema>;
export type PublisherLeftMessage = z.infer<typeof PublisherLeftSchema>;
export type TracksChangedMessage = z.infer<typeof TracksChangedSchema>;
export type VideoLayersMessage = z.infer<typeof VideoLayersSchema>;
export type MutedSetMessage = z.infer<typeof MutedSetSchema>;
export type SpeakingMessage = z.infer<typeof SpeakingSchema>;
export type QualityMessage = z.infer<typeof QualitySchema>;
export type ErrorMessage = z.infer<typeof ErrorSchema>;
export type ServerMessage = z.infer<typeof ServerMessageSchema>;

type Body<M> = Omit<M, 'v' | 'type' | 'id'>;
const v = PROTOCOL_VERSION;

/** Typed builders: the only way server code should construct outgoing messages. */
export const serverMessage = {
  joined: (id: RequestId, b: Body<JoinedMessage>): JoinedMessage => ({ v, type: 'joined', id, ...b }),
  moved: (id: RequestId, x: number, y: number): MovedMessage => ({ v, type: 'moved', id, x, y }),
  modeSet: (id: RequestId, mode: Mode): ModeSetMessage => ({ v, type: 'modeSet', id, mode }),
  spotlightSet: (id: RequestId, participantId: string, on: boolean): SpotlightSetMessage => ({ v, type: 'spotlightSet', id, participantId, on }),
  peopleChanged: (upserts: PersonInfo[], removed: string[]): PeopleChangedMessage => ({ v, type: 'peopleChanged', upserts, removed }),
  links: (links: LinkInfo[]): LinksMessage => ({ v, type: 'links', links }),
  publishAnswer: (id: RequestId, b: Body<PublishAnswerMessage>): PublishAnswerMessage => ({ v, type: 'publishAnswer', id, ...b }),
  subscribed: (id: RequestId, b: Body<SubscribedMessage>): SubscribedMessage => ({ v, type: 'subscribed', id, ...b }),
  unsubscribed: (id: RequestId, b: Body<UnsubscribedMessage>): UnsubscribedMessage => ({ v, type: 'unsubscribed', id, ...b }),
  left: (id: RequestId): LeftMessage => ({ v, type: 'left', id }),
  pong: (id: RequestId): PongMessage => ({ v, type: 'pong', id }),
  resumed: (id: RequestId, b: Body<ResumedMessage>): ResumedMessage => ({ v, type: 'resumed', id, ...b }),
  iceRestarted: (id: RequestId, offer: boolean): IceRestartedMessage => ({ v, type: 'iceRestarted', id, offer }),
  subscriberOffer: (offerId: number, sdp: string): SubscriberOfferMessage => ({ v, type: 'subscriberOffer', offerId, sdp }),
  publisherJoined: (publisher: PublisherInfo): PublisherJoinedMessage => ({ v, type: 'publisherJoined', publisher }),
  publisherLeft: (participantId: string): PublisherLeftMessage => ({ v, type: 'publisherLeft', participantId }),
  tracksChanged: (publisher: PublisherInfo): TracksChangedMessage => ({ v, type: 'tracksChanged', publisher }),
  videoLayers: (trackId: string, layers: VideoLayersMessage['layers']): VideoLayersMessage => ({ v, type: 'videoLayers', trackId, layers }),
  mutedSet: (id: RequestId, trackId: string, muted: boolean): MutedSetMessage => ({ v, type: 'mutedSet', id, trackId, muted }),
  speaking: (participantId: string, speaking: boolean): SpeakingMessage => ({ v, type: 'speaking', participantId, speaking }),
  quality: (b: Body<QualityMessage>): QualityMessage => ({ v, type: 'quality', ...b }),
  error: (code: ErrorCode, message: string, id?: RequestId): ErrorMessage =>
    id === undefined ? { v, type: 'error', code, message } : { v, type: 'error', id, code, message },
};

export function encodeServerMessage(msg: ServerMessage): string {
  return JSON.stringify(msg);
}

// ---- parsing ----

export type ParseResult = { ok: true; msg: ClientMessage } | { ok: false; error: ErrorMessage };

/** Keys that could reach Object.prototype if a handler ever spreads or merges client data. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** No message of ours nests deeper than 4 (`report`); a frame nesting deeper is refused before parsing. */
export const MAX_JSON_DEPTH = 32;
/** Structural tokens (`{` `[` `:` `,`) outside strings: our largest messages have a few hundred. */
export const MAX_JSON_TOKENS = 4096;

/**
 * One linear pass before JSON.parse. Within the frame cap, 128 KiB of nesting or of tiny values (tens of
 * thousands of them) cost the reviver and the schemas 10–35 ms of main thread (found by npm run fuzz); the
 * pass bounds both by what a message of ours can hold. Strings are skipped with indexOf (an SDP is most
 * of a big frame).
 */
function jsonShapeOk(text: string): boolean {
  let depth = 0;
  let tokens = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: its end is the next quote not escaped (an odd run of backslashes before it escapes it).
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return true; // unterminated: JSON.parse says so
        let b = q - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH || ++tokens > MAX_JSON_TOKENS) return false;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c || c === 0x3a) {
      if (++tokens > MAX_JSON_TOKENS) return false;
    }
  }
  return true;
}

/** Parse and validate one client frame. Never throws; errors echo the request id when one is readable. */
export function parseClientMessage(raw: string | Buffer): ParseResult {
  const fail = (code: ErrorCode, message: string, id?: RequestId): ParseResult => ({
    ok: false,
    error: serverMessage.error(code, message, id),
  });
  try {
    // A string's UTF-8 size is at least its length, so the cheap check goes first.
    const size = typeof raw === 'string' ? (raw.length > MAX_MESSAGE_BYTES ? Infinity : Buffer.byteLength(raw, 'utf8')) : raw.length;
    if (size > MAX_MESSAGE_BYTES) return fail('bad_request', `message exceeds ${MAX_MESSAGE_BYTES} bytes`);
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (!jsonShapeOk(text)) return fail('bad_request', `message nests deeper than ${MAX_JSON_DEPTH} or holds more than ${MAX_JSON_TOKENS} values`);

    let hostileKey: string | undefined;
    let data: unknown;
    try {
      data = JSON.parse(text, function (key, value: unknown) {
        if (FORBIDDEN_KEYS.has(key)) hostileKey = key;
        return value;
      });
    } catch {
      return fail('bad_request', 'message is not valid JSON');
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return fail('bad_request', 'message must be a JSON object');
    }
    const obj = data as Record<string, unknown>;
    const idResult = RequestId.safeParse(obj.id);
    const id = idResult.success ? idResult.data : undefined;
    if (hostileKey !== undefined) return fail('bad_request', `forbidden key "${hostileKey}"`, id);
    if (!('v' in obj)) return fail('bad_request', 'missing protocol version "v"', id);
    if (obj.v !== PROTOCOL_VERSION) return fail('unsupported_version', `unsupported protocol version; this server speaks v${PROTOCOL_VERSION}`, id);
    if (typeof obj.type !== 'string' || !CLIENT_TYPES.has(obj.type)) return fail('bad_request', 'unknown message type', id);

    const parsed = ClientMessageSchema.safeParse(obj);
    if (!parsed.success) return fail('bad_request', describeIssue(obj.type, parsed.error.issues[0]), id);
    return { ok: true, msg: parsed.data };
  } catch {
    // Defensive: e.g. a pathologically nested payload overflowing the reviver's recursion.
    return fail('bad_request', 'message could not be parsed');
  }
}

function describeIssue(type: string, issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return `invalid ${type} message`;
  const path = issue.path.map(String).join('.') || '(root)';
  // zod messages do not echo input values, so this cannot reflect attacker-controlled text.
  return `invalid ${type} message: ${path}: ${issue.message}`.slice(0, 200);
}
