/**
 * Generates the load generator's media clips with ffmpeg on first use and caches them on disk (large binaries
 * are never committed). File names encode every parameter, so changing one re-encodes instead of reusing a
 * stale file.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LayerSpec {
  width: number;
  height: number;
  kbps: number;
}

export const CLIP_FPS = 30;
/** Keyframe every 2 s, at the same frame indices in every layer. */
export const CLIP_GOP_FRAMES = 60;
export const AUDIO_KBPS = 32;
export const AUDIO_FRAME_MS = 20;

const SINGLE: readonly LayerSpec[] = [{ width: 640, height: 360, kbps: 500 }];
const SIMULCAST: readonly LayerSpec[] = [
  { width: 320, height: 180, kbps: 150 },
  { width: 640, height: 360, kbps: 500 },
  { width: 1280, height: 720, kbps: 1500 },
];

/** Simulcast as Chrome sends it from a 640×360 camera (the SDK's ladder for that size). */
const SIMULCAST_360: readonly LayerSpec[] = [
  { width: 160, height: 90, kbps: 80 },
  { width: 320, height: 180, kbps: 200 },
  { width: 640, height: 360, kbps: 600 },
];

/** A thumbnail as a crowd sees each other: small and at half the frame rate, so a 60-person mingle fits this machine. */
const THUMB: readonly LayerSpec[] = [{ width: 320, height: 180, kbps: 100 }];
export const THUMB_FPS = 15;

/** Which clip: one 640x360 layer, three simulcast layers (top 1280x720, or top 640x360), or a 15 fps thumbnail. */
export type ClipKind = 1 | 3 | 'sim360' | 'thumb';

/** Layer parameters, low to high. */
export function layerSpecs(layers: ClipKind): readonly LayerSpec[] {
  if (layers === 1) return SINGLE;
  if (layers === 3) return SIMULCAST;
  if (layers === 'sim360') return SIMULCAST_360;
  if (layers === 'thumb') return THUMB;
  throw new Error(`layers must be 1, 3, 'sim360' or 'thumb', got ${String(layers)}`);
}

/**
 * Frame rate and GOP of a clip kind: a keyframe every 2 s, except the 360p simulcast clip, which has one only
 * where it starts (10 s): it stands in for a browser, which sends keyframes only when asked (a PLI makes the
 * player jump to the next one, see ClipPlayer.requestKeyframe), so receivers repair losses by NACK instead
 * of waiting for the next keyframe.
 */
export function clipTiming(layers: ClipKind): { fps: number; gop: number } {
  const fps = layers === 'thumb' ? THUMB_FPS : CLIP_FPS;
  if (layers === 'sim360') return { fps, gop: BROWSER_LIKE_GOP_S * fps };
  return { fps, gop: (CLIP_GOP_FRAMES * fps) / CLIP_FPS };
}
const BROWSER_LIKE_GOP_S = 10;

export const DEFAULT_MEDIA_DIR = join(fileURLToPath(new URL('../../../', import.meta.url)), '.cache', 'media');

export interface ClipFileOptions {
  layers: ClipKind;
  /** Default 10. */
  durationS?: number;
  /** Default <project>/.cache/media (gitignored); created if missing. */
  dir?: string;
  onProgress?: (line: string) => void;
  /** ffmpeg binary; default 'ffmpeg' from PATH. */
  ffmpegPath?: string;
}

export interface ClipFiles {
  /** IVF paths, low to high layer. */
  video: string[];
  /** Ogg Opus path. */
  audio: string;
}

// Bump when the encoder settings change in a way the names below do not capture.
const FORMAT = 'v1';

/**
 * VP8 temporal layers of the simulcast clip, as Chrome sends with scalabilityMode L1T3: frames cycle through
 * temporal layers 0, 2, 1, 2 (7.5 / 15 / 30 fps cumulative); libvpx's layering mode 3 makes the layer-1 and
 * the first layer-2 frame of each cycle reference only layer 0 (layer sync, RFC 7741 §4.2 Y bit).
 */
export const TEMPORAL_PATTERN: readonly number[] = [0, 2, 1, 2];
export const TEMPORAL_SYNC: readonly boolean[] = [false, true, true, false];
export const TEMPORAL_RATE_SHARE: readonly number[] = [0.4, 0.6, 1];

// Realtime libvpx settings a browser-like sender would use: no lookahead or alt-ref (they add delay),
// error-resilient mode, fixed GOP (a multiple of the temporal cycle, so every keyframe is a layer-0 frame).
function vp8EncoderArgs(kbps: number, gop: number, temporal: boolean): string[] {
  const args = [
    '-c:v', 'libvpx', '-pix_fmt', 'yuv420p', '-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0',
    '-auto-alt-ref', '0', '-error-resilient', '1', '-g', String(gop), '-keyint_min', String(gop),
    '-b:v', `${kbps}k`,
  ];
  if (temporal) {
    // Cumulative rates as libwebrtc splits three temporal layers (40 % / 60 % / 100 %).
    const rates = TEMPORAL_RATE_SHARE.map((f) => Math.round(kbps * f)).join(',');
    args.push('-ts-parameters', `ts_number_layers=3:ts_target_bitrate=${rates}:ts_rate_decimator=4,2,1:ts_periodicity=4:ts_layer_id=${TEMPORAL_PATTERN.join(',')}:ts_layering_mode=3`);
  }
  return args;
}

/** Whether a clip kind's layers carry VP8 temporal layers (the simulcast one, like Chrome's L1T3). */
export function hasTemporalLayers(layers: ClipKind): boolean {
  return layers === 3 || layers === 'sim360';
}

const inFlight = new Map<string, Promise<void>>();
let tmpCounter = 0;

/** Returns the clip's files, encoding any that are missing. Concurrent calls for the same files share one encode. */
export async function ensureClipFiles(opts: ClipFileOptions): Promise<ClipFiles> {
  const specs = layerSpecs(opts.layers);
  const durationS = opts.durationS ?? 10;
  const { fps, gop } = clipTiming(opts.layers);
  if (!Number.isFinite(durationS) || durationS <= 0 || Math.round(durationS * fps) < 1) {
    throw new Error(`durationS must be a positive number of seconds, got ${durationS}`);
  }
  const dir = opts.dir ?? DEFAULT_MEDIA_DIR;
  await mkdir(dir, { recursive: true });
  const t3 = `t3-${TEMPORAL_RATE_SHARE.map((f) => Math.round(f * 100)).join('-')}`;
  const set = opts.layers === 3 ? `sim3-${t3}` : opts.layers === 'sim360' ? `sim360-${t3}` : opts.layers === 'thumb' ? 'thumb' : 'single';
  const temporal = hasTemporalLayers(opts.layers);
  const common = `${fps}fps-g${gop}-${durationS}s-${FORMAT}`;
  const video = specs.map((l) => join(dir, `vp8-${set}-${l.width}x${l.height}-${l.kbps}k-${common}.ivf`));
  const audio = join(dir, `opus-48k-mono-${AUDIO_KBPS}k-cbr-${AUDIO_FRAME_MS}ms-${durationS}s-${FORMAT}.ogg`);
  const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
  const progress = opts.onProgress ?? (() => {});

  // Simulcast layers come from one encode so their GOPs line up: if any layer is missing, redo them all.
  const videoJob = once(video, async () => {
    if (await allExist(video)) return;
    const n = specs.length;
    const top = specs[n - 1];
    const graph =
      `[0:v]split=${n}` + specs.map((_, i) => `[s${i}]`).join('') + ';' + specs.map((l, i) => `[s${i}]scale=${l.width}:${l.height}[o${i}]`).join(';');
    const outputs = specs.flatMap((l, i) => ['-map', `[o${i}]`, ...vp8EncoderArgs(l.kbps, gop, temporal), '-f', 'ivf', '{out' + i + '}']);
    // -t before -i: with several filter_complex outputs an output-side -t does not stop the source.
    const args = ['-t', String(durationS), '-f', 'lavfi', '-i', `testsrc2=size=${top.width}x${top.height}:rate=${fps}`, '-filter_complex', graph, ...outputs];
    await encode(ffmpeg, args, video, `${n} VP8 layer${n > 1 ? 's' : ''} (${durationS} s)`, progress);
  });
  const audioJob = once([audio], async () => {
    if (await allExist([audio])) return;
    const args = [
      '-t', String(durationS), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      // Constant bitrate: a pure tone would otherwise take ~45 kbps of VBR, more than a browser spends on speech.
      '-c:a', 'libopus', '-ac', '1', '-b:a', `${AUDIO_KBPS}k`, '-vbr', 'off', '-frame_duration', String(AUDIO_FRAME_MS), '-f', 'ogg', '{out0}',
    ];
    await encode(ffmpeg, args, [audio], `Opus audio (${durationS} s)`, progress);
  });
  await Promise.all([videoJob, audioJob]);
  return { video, audio };
}

function once(paths: string[], job: () => Promise<void>): Promise<void> {
  const key = paths.join('\n');
  let p = inFlight.get(key);
  if (!p) {
    p = job().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

async function allExist(paths: string[]): Promise<boolean> {
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (!s || !s.isFile() || s.size === 0) return false;
  }
  return true;
}

/** Runs ffmpeg writing to temporary names ('{outN}' placeholders), then renames, so no half-written file is ever visible. */
async function encode(ffmpeg: string, args: string[], finals: string[], what: string, progress: (line: string) => void): Promise<void> {
  const tmps = finals.map((f) => `${f}.${process.pid}-${++tmpCounter}.tmp`);
  const resolved = args.map((a) => a.replace(/^\{out(\d+)\}$/, (_, i: string) => tmps[Number(i)]));
  progress(`encoding ${what}…`);
  const t0 = performance.now();
  try {
    await runFfmpeg(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...resolved]);
    for (let i = 0; i < finals.length; i++) await rename(tmps[i], finals[i]);
  } catch (e) {
    await Promise.all(tmps.map((t) => rm(t, { force: true })));
    throw e;
  }
  progress(`encoded ${what} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function runFfmpeg(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new Error(`ffmpeg not found (tried '${bin}'); the load generator needs it to encode its media clips: install it with apt-get install ffmpeg`));
      } else {
        reject(new Error(`could not run ffmpeg ('${bin}'): ${e.message}`));
      }
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const hint = /Unknown encoder|Encoder not found/.test(stderr) ? " (this ffmpeg lacks libvpx or libopus; Debian's ffmpeg package has both: apt-get install ffmpeg)" : '';
      reject(new Error(`ffmpeg failed (${signal ?? `exit ${code}`})${hint}: ${stderr.trim() || 'no output'}`));
    });
  });
}
