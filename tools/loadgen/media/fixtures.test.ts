// Calls the real ffmpeg (scripts/setup.sh installs it for the test suite).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { loadClip } from './clip.ts';
import { DEFAULT_MEDIA_DIR, ensureClipFiles, layerSpecs } from './fixtures.ts';
import { readIvfFile } from './ivf.ts';
import { readOggOpusFile } from './ogg-opus.ts';

const dir = mkdtempSync(join(tmpdir(), 'proxima-media-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('encodes three aligned simulcast layers and Opus once, then reuses them', async () => {
  const lines: string[] = [];
  // 2.1 s = 63 frames: long enough for a second keyframe at frame 60.
  const opts = { layers: 3 as const, durationS: 2.1, dir, onProgress: (l: string) => lines.push(l) };
  const files = await ensureClipFiles(opts);
  assert.equal(files.video.length, 3);
  assert.ok(lines.some((l) => /^encoding 3 VP8 layers \(2\.1 s\)…$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^encoded 3 VP8 layers \(2\.1 s\) in \d+\.\d s$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^encoded Opus audio/.test(l)), lines.join('\n'));
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left');
  assert.match(basename(files.video[2]), /^vp8-sim3-t3-40-60-100-1280x720-1500k-30fps-g60-2\.1s-v1\.ivf$/);

  const ivfs = await Promise.all(files.video.map((p) => readIvfFile(p)));
  assert.deepEqual(
    ivfs.map((v) => [v.width, v.height]),
    layerSpecs(3).map((l) => [l.width, l.height]),
  );
  for (const v of ivfs) {
    assert.equal(v.frames.length, 63);
    assert.deepEqual(
      v.frames.flatMap((f, i) => ((f.data[0] & 1) === 0 ? [i] : [])),
      [0, 60],
    );
  }
  const ogg = await readOggOpusFile(files.audio);
  assert.ok(Math.abs(ogg.packets.length - 105) <= 1, `${ogg.packets.length} Opus packets`);

  // Cached: no encode, same files untouched.
  const mtimes = files.video.map((p) => statSync(p).mtimeMs);
  lines.length = 0;
  const again = await ensureClipFiles(opts);
  assert.deepEqual(again, files);
  assert.deepEqual(lines, []);
  assert.deepEqual(
    again.video.map((p) => statSync(p).mtimeMs),
    mtimes,
  );

  const clip = await loadClip(opts);
  // L1T3: layers 0 2 1 2; a layer-0 frame references the frame four back, so it costs more than the
  // layer-2 frames that reference their neighbour (evidence the encoder really layered).
  for (const l of clip.layers) {
    assert.deepEqual(l.frames.slice(0, 8).map((f) => f.tid), [0, 2, 1, 2, 0, 2, 1, 2]);
    assert.deepEqual(l.frames.slice(0, 4).map((f) => f.layerSync), [false, true, true, false]);
    const mean = (tid: number) => {
      const xs = l.frames.filter((f, i) => i > 0 && i < 60 && f.tid === tid).map((f) => f.data.length);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    assert.ok(mean(0) > 1.3 * mean(2), `${l.width}x${l.height}: TL0 frames ${mean(0).toFixed(0)} B vs TL2 ${mean(2).toFixed(0)} B`);
  }
  assert.equal(clip.fps, 30);
  assert.equal(clip.frameCount, 63);
  assert.equal(clip.durationMs, 2100);
  assert.deepEqual(
    clip.layers.map((l) => [l.width, l.height, l.targetKbps]),
    [
      [320, 180, 150],
      [640, 360, 500],
      [1280, 720, 1500],
    ],
  );
  assert.ok(clip.layers[2].frames[0].data.length > clip.layers[0].frames[0].data.length);
});

test('clear errors when ffmpeg is missing or fails, and no partial files', async () => {
  const d = mkdtempSync(join(dir, 'err-'));
  await assert.rejects(ensureClipFiles({ layers: 1, durationS: 1, dir: d, ffmpegPath: '/nonexistent/ffmpeg' }), /ffmpeg not found.*apt-get install ffmpeg/);
  await assert.rejects(ensureClipFiles({ layers: 1, durationS: 1, dir: d, ffmpegPath: '/bin/false' }), /ffmpeg failed \(exit 1\)/);
  assert.deepEqual(readdirSync(d), []);
  await assert.rejects(ensureClipFiles({ layers: 1, durationS: 0, dir: d }), /durationS/);
  await assert.rejects(ensureClipFiles({ layers: 2 as 1, dir: d }), /layers must be 1, 3, 'sim360' or 'thumb'/);
});

test('the default cache directory is <project>/.cache/media', () => {
  assert.match(DEFAULT_MEDIA_DIR, /[/\\]\.cache[/\\]media$/);
  assert.ok(statSync(join(DEFAULT_MEDIA_DIR, '..', '..', 'package.json')).isFile());
});
