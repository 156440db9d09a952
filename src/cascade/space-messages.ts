import { z } from 'zod';
import { PersonInfoSchema } from '../signaling/messages.ts';
import { TrackDescSchema } from './relay/track-desc.ts';

/**
 * Space replication between nodes (NATS subject `proxima.v1.space.<spaceId>`, see space-replica.ts).
 * Every node is the only writer of the people it hosts; the others mirror them.
 */
const NodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const SpaceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const ReplicatedPersonSchema = z.object({ person: PersonInfoSchema, tracks: z.array(TrackDescSchema).max(16) }).strict();
export type ReplicatedPerson = z.infer<typeof ReplicatedPersonSchema>;

export const SpacePeopleSchema = z
  .object({
    v: z.literal(1),
    node: NodeId,
    space: SpaceId,
    /** Increases per message of this node and space: an older one (reordered) is ignored. */
    seq: z.number().int().min(0),
    /** `upserts` is everyone this node hosts in the space: mirrored people of it not listed are gone. */
    full: z.boolean(),
    upserts: z.array(ReplicatedPersonSchema).max(1000),
    removed: z.array(z.string().min(1).max(64)).max(1000),
  })
  .strict();
export type SpacePeople = z.infer<typeof SpacePeopleSchema>;

export const SpaceSpeakingSchema = z.object({ v: z.literal(1), node: NodeId, space: SpaceId, person: z.string().min(1).max(64), on: z.boolean() }).strict();
export type SpaceSpeaking = z.infer<typeof SpaceSpeakingSchema>;

/** A node that starts following a space asks the others for their full state. */
export const SpaceHelloSchema = z.object({ v: z.literal(1), node: NodeId, space: SpaceId }).strict();
export type SpaceHello = z.infer<typeof SpaceHelloSchema>;

/** A spotlight set on a person hosted elsewhere travels to the person's node, which applies it. */
export const SpaceSpotlightSchema = z.object({ v: z.literal(1), node: NodeId, space: SpaceId, person: z.string().min(1).max(64), on: z.boolean() }).strict();
export type SpaceSpotlight = z.infer<typeof SpaceSpotlightSchema>;

export const spaceSubject = (spaceId: string, what: 'people' | 'speaking' | 'hello' | 'spotlight') => `proxima.v1.space.${spaceId}.${what}`;
