/**
 * How a camera track is sent: three RFC 8853 simulcast layers (rids q, h, f at ¼, ½ and full size), each
 * with three VP8 temporal layers (scalabilityMode L1T3: 7.5, 15, 30 fps), so the SFU can give every viewer
 * the best of nine rungs without re-encoding. The bitrate ceilings follow the capture size.
 */

/** Rids, lowest first. The server ranks layers by measured resolution, not by this order. */
export const SIMULCAST_RIDS = ['q', 'h', 'f'] as const;
export type SimulcastRid = (typeof SIMULCAST_RIDS)[number];

/** Per-layer ceilings by capture height (the full layer's height): bits per second for q, h, f. */
const LADDERS: ReadonlyArray<{ minHeight: number; bps: readonly [number, number, number] }> = [
  { minHeight: 1080, bps: [200_000, 700_000, 2_500_000] },
  { minHeight: 720, bps: [150_000, 500_000, 1_500_000] },
  { minHeight: 480, bps: [100_000, 300_000, 900_000] },
  { minHeight: 0, bps: [80_000, 200_000, 600_000] },
];

export interface SimulcastOptions {
  /** false: one encoding (still with temporal layers). Default true. */
  simulcast?: boolean;
  /** VP8 temporal scalability per encoding. Default 'L1T3'. */
  scalabilityMode?: string;
}

/** The layer ceilings for a capture of this height: [q, h, f] in bps. */
export function layerBitrates(captureHeight: number): readonly [number, number, number] {
  for (const l of LADDERS) if (captureHeight >= l.minHeight) return l.bps;
  return LADDERS[LADDERS.length - 1].bps;
}

/** `sendEncodings` for addTransceiver. */
export function videoEncodings(captureHeight: number, opts: SimulcastOptions = {}): RTCRtpEncodingParameters[] {
  const mode = opts.scalabilityMode ?? 'L1T3';
  const bps = layerBitrates(captureHeight);
  if (opts.simulcast === false) return [{ maxBitrate: bps[2], scalabilityMode: mode } as RTCRtpEncodingParameters];
  return SIMULCAST_RIDS.map(
    (rid, i) =>
      ({
        rid,
        active: true,
        scaleResolutionDownBy: 2 ** (SIMULCAST_RIDS.length - 1 - i),
        maxBitrate: bps[i],
        scalabilityMode: mode,
      }) as RTCRtpEncodingParameters,
  );
}
