/**
 * Control-plane messages between nodes (NATS subjects and KV values), protocol v1: JSON, validated with zod.
 * Every message carries `v: 1`; a node that reads another version counts it as invalid and drops it, so a
 * v2 can be rolled out by publishing both versions for a while. Decoding never throws: hostile or broken
 * input becomes a counted `DecodeError` (proxima_control_messages_invalid_total{kind,reason}).
 */
import { z } from 'zod';
import { countControlInvalid, type ControlInvalidReason } from '../../metrics/registry.ts';
import { SpaceHelloSchema, SpacePeopleSchema, SpaceSpeakingSchema, SpaceSpotlightSchema } from '../space-messages.ts';

export const CONTROL_VERSION = 1;
/** Checked before JSON.parse: the largest honest message (an RTT row of ~1000 nodes) is far below this. */
export const MAX_CONTROL_BYTES = 64 * 1024;

/** Node ids are NATS subject tokens and KV keys, so only [A-Za-z0-9_-]. */
export const NodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'node id must be 1..64 of [A-Za-z0-9_-]')
  .refine((s) => s !== '__proto__', 'reserved id');
/** Same rule as the signaling `join.space`. */
export const SpaceIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'space id must be 1..64 of [A-Za-z0-9_-]');
/** Person and track ids: the signaling identifier alphabet (msid token chars); KV keys escape them. */
export const EntityIdSchema = z.string().regex(/^[A-Za-z0-9_.+\/{}=#-]{1,64}$/, 'invalid identifier');

const u32 = z.number().int().min(0).max(0xffff_ffff);
const WallMs = z.number().int().min(0).max(8_640_000_000_000_000);
const Load = z.object({
  people: z.number().int().min(0).max(10_000_000),
  tracks: z.number().int().min(0).max(100_000_000),
  cpu: z.number().min(0).max(1),
});
export type NodeLoad = z.infer<typeof Load>;

const v1 = <S extends z.ZodRawShape>(shape: S) => z.object({ v: z.literal(CONTROL_VERSION), ...shape });

export const NodeInfoSchema = v1({
  id: NodeIdSchema,
  /** Small numeric id, unique among live nodes: relays stamp it on packets (origin / loop prevention). */
  num: u32,
  region: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'region must be 1..64 of [A-Za-z0-9_.-]'),
  relay: z.object({ host: z.string().min(1).max(255).regex(/^[^\s\p{Cc}]+$/u, 'host must not contain spaces'), port: z.number().int().min(1).max(65535) }),
  signalingUrl: z.url({ protocol: /^(wss?|https?)$/ }).max(2048),
  /** The node's relay identity key (base64), so relay links can be authenticated. */
  publicKey: z.string().min(1).max(1024).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'publicKey must be base64'),
  load: Load,
  draining: z.boolean(),
  startedAt: WallMs,
});
export const HeartbeatSchema = v1({ id: NodeIdSchema, at: WallMs, load: Load, draining: z.boolean() });
export const LeaveSchema = v1({ id: NodeIdSchema });
/** Sent by a starting node: every live node answers with an immediate heartbeat (so start is fast). */
export const ProbeSchema = v1({ id: NodeIdSchema });
export const RttRowSchema = v1({
  from: NodeIdSchema,
  at: WallMs,
  rtts: z
    .record(NodeIdSchema, z.number().min(0).max(60_000))
    .refine((r) => Object.keys(r).length <= 4096, 'too many rtt entries'),
});
export const PersonEntrySchema = v1({ personId: EntityIdSchema, spaceId: SpaceIdSchema, nodeId: NodeIdSchema });
export const TrackEntrySchema = v1({
  trackId: EntityIdSchema,
  personId: EntityIdSchema,
  spaceId: SpaceIdSchema,
  originNode: NodeIdSchema,
  originNum: u32,
  kind: z.enum(['audio', 'video']),
  streams: z
    .array(z.object({ streamId: u32, rid: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/).nullable(), ssrc: u32, rtxSsrc: u32.nullable() }))
    .min(1)
    .max(8),
  codec: z.object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/),
    clockRate: z.number().int().min(1).max(1_000_000),
    payloadType: z.number().int().min(0).max(127),
    channels: z.number().int().min(1).max(16).optional(),
  }),
});
/** Value of the `proxima-node-nums` KV bucket: who holds a node number. */
export const NumClaimSchema = v1({ id: NodeIdSchema });
/** Value of the `proxima-space-owners` KV bucket. `expiresAt` is informational (wall clocks differ). */
export const SpaceLeaseSchema = v1({ node: NodeIdSchema, term: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), expiresAt: WallMs });

export type NodeInfo = z.infer<typeof NodeInfoSchema>;
export type Heartbeat = z.infer<typeof HeartbeatSchema>;
export type Leave = z.infer<typeof LeaveSchema>;
export type Probe = z.infer<typeof ProbeSchema>;
export type RttRow = z.infer<typeof RttRowSchema>;
export type PersonEntry = z.infer<typeof PersonEntrySchema>;
export type TrackEntry = z.infer<typeof TrackEntrySchema>;
export type SpaceLease = z.infer<typeof SpaceLeaseSchema>;
export type NumClaim = z.infer<typeof NumClaimSchema>;

/** Every schema by the name used in metrics and logs (a bounded label set). */
export const CONTROL_SCHEMAS = {
  nodeInfo: NodeInfoSchema,
  heartbeat: HeartbeatSchema,
  leave: LeaveSchema,
  probe: ProbeSchema,
  rttRow: RttRowSchema,
  person: PersonEntrySchema,
  track: TrackEntrySchema,
  spaceLease: SpaceLeaseSchema,
  numClaim: NumClaimSchema,
  spacePeople: SpacePeopleSchema,
  spaceSpeaking: SpaceSpeakingSchema,
  spaceHello: SpaceHelloSchema,
  spaceSpotlight: SpaceSpotlightSchema,
} as const;
export type ControlKind = keyof typeof CONTROL_SCHEMAS;
export type ControlMessage<K extends ControlKind> = z.infer<(typeof CONTROL_SCHEMAS)[K]>;

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: ControlInvalidReason; detail: string };
export type Decoder<T> = ((data: Uint8Array) => DecodeResult<T>) & { readonly kind: ControlKind };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Bytes → a validated message, or a counted error. Never throws. */
export function decodeControl<K extends ControlKind>(kind: K, data: Uint8Array): DecodeResult<ControlMessage<K>> {
  const r = decodeUncounted(kind, data);
  if (!r.ok) countControlInvalid(kind, r.reason);
  return r;
}

function decodeUncounted<K extends ControlKind>(kind: K, data: Uint8Array): DecodeResult<ControlMessage<K>> {
  if (data.byteLength > MAX_CONTROL_BYTES) return { ok: false, reason: 'too_large', detail: `${data.byteLength} bytes` };
  let text: string;
  let json: unknown;
  try {
    text = utf8.decode(data);
  } catch {
    return { ok: false, reason: 'utf8', detail: 'not UTF-8' };
  }
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'json', detail: 'not JSON' };
  }
  // A message of another version is told apart from a broken one: it is the rollout signal.
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'v' in json && json.v !== CONTROL_VERSION) {
    return { ok: false, reason: 'version', detail: `v=${String(json.v).slice(0, 16)}` };
  }
  const parsed = CONTROL_SCHEMAS[kind].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'schema', detail: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid' };
  }
  return { ok: true, value: parsed.data as ControlMessage<K> };
}

/** A decoder bound to one kind, for `ControlBus.subscribe`. */
export function decoderFor<K extends ControlKind>(kind: K): Decoder<ControlMessage<K>> {
  return Object.assign((data: Uint8Array) => decodeControl(kind, data), { kind });
}

/**
 * A message we send → bytes. Our own messages are validated too: a bug here would otherwise be counted as
 * hostile input on every other node. Throws (our bug, not input).
 */
export function encodeControl<K extends ControlKind>(kind: K, msg: ControlMessage<K>): Uint8Array {
  const parsed = CONTROL_SCHEMAS[kind].safeParse(msg);
  if (!parsed.success) throw new Error(`invalid outgoing ${kind}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const bytes = encoder.encode(JSON.stringify(parsed.data));
  if (bytes.byteLength > MAX_CONTROL_BYTES) throw new Error(`outgoing ${kind} is ${bytes.byteLength} bytes (max ${MAX_CONTROL_BYTES})`);
  return bytes;
}
