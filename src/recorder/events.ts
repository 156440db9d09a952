/**
 * The flight recorder's event types (docs/recorder.md): one stream per space, each event stamped with the
 * node, the time and the participant it is about. Version 1. Everything the recorder stores or receives from
 * another node passes `parseEvent`; what the server records is typed by `RecordInput` at compile time.
 *
 * Per-packet facts never become events: the media half records per-second aggregates and changes (a layer
 * switch, an allocation that changed), so the hot path neither awaits nor allocates for the recorder.
 */
import { z } from 'zod';
import { ModeSchema } from '../signaling/messages.ts';

export const EVENT_VERSION = 1;

const id = z.string().min(1).max(64);
const num = z.number().finite();
const bps = z.number().finite().min(0);
/** A forwarded or allocated layer: [spatial, temporal]; null = paused. */
const layer = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255)]).nullable();
const mode = ModeSchema;

/** What the recorder knows of one direction's quality, once a second (src/quality). */
const qualityDirection = z.object({
  score: num,
  level: z.enum(['excellent', 'good', 'poor', 'lost']),
  cause: z.string().max(32).nullable(),
  lossPct: num,
  /** null: not measured yet. */
  rttMs: num.nullable(),
  /** Downlink: queueing delay the estimator sees; uplink: the worst video's jitter. */
  delayMs: num,
});

/** The data of each kind. Keys are short and stable: they are the stored and served format. */
export const eventData = {
  /** A node of the cluster (or the single process) started, drained, stopped or took over after a failure. */
  node: z.object({
    state: z.enum(['up', 'draining', 'down', 'failover']),
    /** The node this is about when it is not the recording node (a peer seen dead). */
    about: z.string().max(64).optional(),
    detail: z.string().max(200).optional(),
  }),
  join: z.object({
    name: z.string().max(64),
    mode,
    x: num,
    y: num,
    publish: z.boolean(),
    moderator: z.boolean(),
    /** The client as it introduced itself (SDK version / user agent), when it did. */
    client: z.string().max(200).optional(),
    /** The session was resumed on a new connection (same participant) rather than joined afresh. */
    resumed: z.boolean().optional(),
  }),
  leave: z.object({ reason: z.string().max(200) }),
  /** Coalesced: at most a few per second per person (the last position of each interval). */
  move: z.object({ x: num, y: num }),
  mode: z.object({ mode }),
  spotlight: z.object({ on: z.boolean() }),
  speaking: z.object({ on: z.boolean() }),
  /** The tracks this person publishes, after a change (publish, unpublish, mute). */
  tracks: z.object({
    tracks: z.array(z.object({ trackId: id, kind: z.enum(['audio', 'video']), source: z.string().max(32), muted: z.boolean() })).max(64),
  }),
  /** This listener's links after a change: whom they hear/see, with what gain and priority. */
  links: z.object({ links: z.array(z.object({ speaker: id, gain: num, priority: num })).max(1000) }),
  /** A track this listener now receives (add) or no longer receives (remove). */
  subscription: z.object({ op: z.enum(['add', 'remove']), publisher: id, trackId: id, kind: z.enum(['audio', 'video']) }),
  /** A subscribe offer sent to this listener, and its answer. */
  offer: z.object({ offerId: z.number().int(), tracks: z.number().int().min(0) }),
  answer: z.object({ offerId: z.number().int() }),
  /** ICE/DTLS state of one of this person's two connections. */
  transport: z.object({ which: z.enum(['publish', 'subscribe']), state: z.string().max(32), reason: z.string().max(200).optional() }),
  /** This listener's bandwidth allocation changed: inputs (estimate, what was wanted) and the output per track. */
  allocation: z.object({
    estimateBps: bps.nullable(),
    wantedBps: bps,
    totalBps: bps,
    tracks: z
      .array(z.object({ trackId: id, kind: z.enum(['audio', 'video']), layer, bps, reason: z.string().max(32), priority: num.optional() }))
      .max(1000),
    /** The receive caps of the listener's device when below "no limit". */
    caps: z.string().max(64).optional(),
  }),
  /**
   * The layer actually forwarded to this listener changed (a switch done at the forwarder). `layer` is the
   * spatial rank as known then (ranks settle once key frame sizes are seen); `rid` and `height` name the
   * publisher's stream itself.
   */
  layer: z.object({ trackId: id, layer, switches: z.number().int().min(0), rid: z.string().max(32).nullable().optional(), height: z.number().int().min(0).optional() }),
  /**
   * Once a second per person with media: the estimate towards them, what was sent per track, and both
   * directions' quality with its inputs (RTCP loss, RTT, jitter or queueing).
   */
  second: z.object({
    estimateBps: bps.nullable(),
    sentBps: bps,
    /** Bits per second forwarded to this person, per received track. */
    perTrack: z.record(id, bps),
    down: qualityDirection.nullable(),
    up: qualityDirection.nullable(),
    nacks: z.number().int().min(0),
    plis: z.number().int().min(0),
    rtx: z.number().int().min(0),
    /** Audio went with RFC 2198 redundancy (the path lost packets). */
    red: z.boolean().optional(),
  }),
  /** What the browser reported, when it changed: freezes per 10 s, its encoder's limitation, its device's caps level. */
  report: z.object({
    freezesPer10s: num,
    limitation: z.string().max(16),
    /** What the device can take (src/allocation/device-caps.ts): 0 = no limit, higher = stepped down, and why. */
    capsLevel: z.number().int().min(0).max(16),
    capsCause: z.string().max(40).nullable(),
  }),
  /** Packets this node dropped in the last second, by reason (node-wide: space '*'). */
  drops: z.object({ reasons: z.record(z.string().max(40), z.number().int().min(0)) }),
  /** The way media from node `from` reaches node `to` changed (cluster mode): `via` the next hop, [] none. */
  route: z.object({ from: id, to: id, via: z.array(id).max(16) }),
} as const;

export type EventKind = keyof typeof eventData;
export const EVENT_KINDS = Object.keys(eventData) as EventKind[];
export type EventData<K extends EventKind> = z.infer<(typeof eventData)[K]>;

/** Events about no one space (a node's state, its drops) are stored under this space name. */
export const NODE_SPACE = '*';

/** One stored event. `ts`: ms since the epoch; `participant`: null for space- or node-wide events. */
export type RecorderEvent = {
  [K in EventKind]: { v: typeof EVENT_VERSION; ts: number; node: string; space: string; participant: string | null; kind: K; data: EventData<K> };
}[EventKind];

/** What a caller hands the recorder: the recorder stamps version, node and (unless given) time. */
export type RecordInput = {
  [K in EventKind]: { space: string; participant: string | null; kind: K; data: EventData<K>; ts?: number };
}[EventKind];

const envelope = z.object({
  v: z.literal(EVENT_VERSION),
  ts: z.number().int().min(0),
  node: z.string().min(1).max(64),
  space: z.string().min(1).max(64),
  participant: z.string().min(1).max(64).nullable(),
  kind: z.enum(EVENT_KINDS as [EventKind, ...EventKind[]]),
  data: z.unknown(),
});

/** Validates an event from storage or another node; throws a ZodError naming what is wrong. */
export function parseEvent(raw: unknown): RecorderEvent {
  const e = envelope.parse(raw);
  const data = eventData[e.kind].parse(e.data);
  return { ...e, data } as RecorderEvent;
}

/** What a participant's media half records (about that participant; the control half adds space and id). */
export type MediaRecordKind = 'allocation' | 'layer' | 'subscription' | 'offer' | 'answer';
export type MediaRecord = { [K in MediaRecordKind]: { kind: K; data: EventData<K>; ts: number } }[MediaRecordKind];
