import { z } from 'zod';
import { TrackSourceSchema } from '../../signaling/messages.ts';

/**
 * What a node needs to mirror a track it does not host: enough to build a relay-fed Producer and to name
 * its streams on relay links. (originNum, streamIds[i]) names layer i (a=simulcast order, or the only one)
 * cluster-wide; the origin assigns stream ids, and node numbers are unique in a cluster (node registry).
 */
export const TrackDescSchema = z
  .object({
    trackId: z.string().min(1).max(64),
    publisherId: z.string().min(1).max(64),
    origin: z.string().min(1).max(64),
    originNum: z.number().int().min(0).max(0xffffffff),
    kind: z.enum(['audio', 'video']),
    mid: z.string().min(1).max(32),
    codec: z.enum(['opus', 'vp8', 'h264']),
    clockRate: z.number().int().min(1000).max(192000),
    payloadType: z.number().int().min(0).max(127),
    audioLevelExtId: z.number().int().min(0).max(14),
    /** RFC 8853 rids in a=simulcast order; empty without simulcast. */
    rids: z.array(z.string().min(1).max(16)).max(4),
    streamIds: z.array(z.number().int().min(0).max(0xffffffff)).min(1).max(4),
    /** For the pages only (the origin enforces a mute: nothing of a muted track enters a relay). */
    source: TrackSourceSchema.optional(),
    muted: z.boolean().optional(),
  })
  .strict()
  .refine((d) => d.streamIds.length === Math.max(1, d.rids.length), { message: 'one stream id per layer' });
export type TrackDesc = z.infer<typeof TrackDescSchema>;
