import { z } from 'zod';
import { TrackDescSchema, type TrackDesc } from './track-desc.ts';

/**
 * The one CONTROL message on relay links (RELAY_CONTROL, authenticated like media): "these are all the
 * tracks I want from you now, with the layers I want of each". Soft state: sent again every
 * WANT_REFRESH_MS and whenever it changes; a track missing from a want, or wants that stop coming for
 * WANT_EXPIRY_MS, ends that track's relay towards the sender. A lost datagram costs one refresh interval,
 * and a node that dies stops wanting by itself.
 */
export const WANT_REFRESH_MS = 300;
export const WANT_EXPIRY_MS = 2000;
/** A want's datagram stays under the relay's payload budget: longer lists go in several parts. */
export const WANT_PART_BYTES = 1200;

export const WantSchema = z
  .object({
    v: z.literal(1),
    t: z.literal('want'),
    /** Increases with every change (wants can be reordered): an older one is ignored. */
    seq: z.number().int().min(0),
    /** This datagram is part `part` of `parts` of want `seq` (a long list spans datagrams). */
    part: z.number().int().min(0).max(255),
    parts: z.number().int().min(1).max(256),
    tracks: z.array(z.object({ desc: TrackDescSchema, active: z.array(z.boolean()).max(4) }).strict()),
  })
  .strict()
  .refine((w) => w.part < w.parts, { message: 'part out of range' });
export type WantMessage = z.infer<typeof WantSchema>;
export interface WantedTrack {
  desc: TrackDesc;
  /** Per layer (a=simulcast order): whether the sender wants it to cross the link. */
  active: boolean[];
}
