#!/usr/bin/env node
// Usage: node --import tsx tools/weather/cli.ts --listen 41000 --target 127.0.0.1:40000 \
//          [--timeline file.json | --delay 50 --jitter 10 --loss 0.02 --rate 500 ...]
import { parseArgs } from 'node:util';
import { systemClock } from '../../src/util/clock.ts';
import { resolveConfig } from './impairment.ts';
import type { ImpairmentCounters, ImpairmentPatch } from './impairment.ts';
import { Timeline, loadTimelineFile, presetTimeline } from './timeline.ts';
import { PRESETS, PRESET_NAMES, isPresetName } from './presets.ts';
import type { TimelineScript } from './timeline.ts';
import { WeatherProxy } from './udp-proxy.ts';

const HELP = `weather: a user-space UDP network-weather proxy

  --listen PORT          port to listen on (clients send here)
  --host ADDR            listen address (default 127.0.0.1)
  --target ADDR:PORT     where to forward (an IPv4 literal, e.g. 127.0.0.1:40000)
  --timeline FILE        scripted weather (JSON, see docs/weather.md); the flags below set the start weather
  --preset NAME          play a named preset instead of a timeline file (see below; flags set the start weather)
  --direction D          which direction the flags below apply to: both (default), up, down
  --delay MS             one-way delay
  --jitter MS            jitter (uniform ±MS, or normal with sd MS)
  --jitter-dist D        uniform (default) or normal
  --reorder              let jitter reorder packets
  --loss P               random loss probability (0..1)
  --burst G2B,B2G,LG,LB  Gilbert–Elliott bursty loss (pGoodToBad,pBadToGood,lossInGood,lossInBad)
  --rate KBPS            bottleneck rate (kbit/s)
  --queue BYTES          drop-tail queue in front of the bottleneck (default 65536)
  --duplicate P          duplication probability
  --seed N               random seed (default: the timeline's seed, else 1)
  --help

presets (also as a timeline step: { "at": 30, "preset": "blackout" }):
${PRESET_NAMES.map((n) => `  ${n.padEnd(21)}  ${PRESETS[n].description}`).join('\n')}
`;

function fail(msg: string): never {
  process.stderr.write(`weather: ${msg}\n\n${HELP}`);
  process.exit(2);
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`--${name} needs a number, got ${JSON.stringify(v)}`);
  return n;
}

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        listen: { type: 'string' },
        host: { type: 'string' },
        target: { type: 'string' },
        timeline: { type: 'string' },
        preset: { type: 'string' },
        direction: { type: 'string' },
        delay: { type: 'string' },
        jitter: { type: 'string' },
        'jitter-dist': { type: 'string' },
        reorder: { type: 'boolean' },
        loss: { type: 'string' },
        burst: { type: 'string' },
        rate: { type: 'string' },
        queue: { type: 'string' },
        duplicate: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const listenPort = num('listen', values.listen);
  if (listenPort === undefined) fail('--listen is required');
  const m = /^(.+):(\d+)$/.exec(values.target ?? '');
  if (!m) fail('--target ADDR:PORT is required');
  const target = { address: m[1], port: Number(m[2]) };

  const patch: ImpairmentPatch = {};
  const set = <K extends keyof ImpairmentPatch>(k: K, v: ImpairmentPatch[K] | undefined): void => {
    if (v !== undefined) patch[k] = v;
  };
  set('delayMs', num('delay', values.delay));
  set('jitterMs', num('jitter', values.jitter));
  const dist = values['jitter-dist'];
  if (dist !== undefined && dist !== 'uniform' && dist !== 'normal') fail('--jitter-dist is uniform or normal');
  set('jitter', dist);
  if (values.reorder) patch.reorder = true;
  set('loss', num('loss', values.loss));
  set('rateKbps', num('rate', values.rate));
  set('queueBytes', num('queue', values.queue));
  set('duplicate', num('duplicate', values.duplicate));
  if (values.burst !== undefined) {
    const parts = values.burst.split(',').map(Number);
    if (parts.length !== 4 || parts.some((x) => !Number.isFinite(x))) fail('--burst needs four numbers: pGoodToBad,pBadToGood,lossInGood,lossInBad');
    patch.gilbertElliott = { pGoodToBad: parts[0], pBadToGood: parts[1], lossInGood: parts[2], lossInBad: parts[3] };
  }
  try {
    resolveConfig(patch);
  } catch (e) {
    fail((e as Error).message);
  }
  const direction = values.direction ?? 'both';
  if (!['both', 'up', 'down'].includes(direction)) fail('--direction is both, up or down');
  const up = direction === 'down' ? {} : patch;
  const down = direction === 'up' ? {} : patch;

  let script: TimelineScript | undefined;
  if (values.preset !== undefined) {
    if (values.timeline !== undefined) fail('--preset and --timeline are exclusive (a timeline file can play presets)');
    if (!isPresetName(values.preset)) fail(`unknown preset ${JSON.stringify(values.preset)}; one of ${PRESET_NAMES.join(', ')}`);
    script = presetTimeline(values.preset);
  } else if (values.timeline !== undefined) {
    try {
      script = loadTimelineFile(values.timeline);
    } catch (e) {
      process.stderr.write(`weather: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  const seed = num('seed', values.seed) ?? script?.seed ?? 1;
  const proxy = new WeatherProxy({ listenPort, listenHost: values.host, target, up, down, seed, clock: systemClock });
  const started = systemClock.now();
  const elapsed = (): string => `${((systemClock.now() - started) / 1000).toFixed(0).padStart(4)}s`;
  const tty = process.stdout.isTTY === true;

  proxy.start().then(
    () => {
      process.stdout.write(`weather: ${values.host ?? '127.0.0.1'}:${proxy.port} → ${target.address}:${target.port} (seed ${seed})\n`);
      let timeline: Timeline | null = null;
      if (script) {
        timeline = new Timeline(
          script,
          systemClock,
          proxy,
          (i, step) => {
            if (tty) process.stdout.write('\n');
            process.stdout.write(`[${elapsed()}] step ${i}${step.label ? ` (${step.label})` : ''}: up ${describe(proxy.up.config)} | down ${describe(proxy.down.config)}\n`);
          },
          { up, down },
        );
        timeline.start();
      }
      const line = (c: ImpairmentCounters): string =>
        `in ${c.received} out ${c.delivered} lost ${c.lost_random}+${c.lost_burst}b ovf ${c.queue_overflow} dup ${c.duplicated}`;
      const ticker = setInterval(() => {
        const s = proxy.stats();
        const text = `[${elapsed()}] clients ${s.clients} | up: ${line(s.up)} q ${proxy.up.queuedBytes.toFixed(0)}B | down: ${line(s.down)} q ${proxy.down.queuedBytes.toFixed(0)}B`;
        process.stdout.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
      }, 1000);
      const stop = (): void => {
        clearInterval(ticker);
        timeline?.stop();
        process.stdout.write('\n');
        void proxy.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (e: Error) => {
      process.stderr.write(`weather: cannot listen on ${listenPort}: ${e.message}\n`);
      process.exit(1);
    },
  );
}

function describe(c: ReturnType<typeof resolveConfig>): string {
  const parts: string[] = [];
  if (c.delayMs) parts.push(`delay ${c.delayMs}ms`);
  if (c.jitterMs) parts.push(`jitter ${c.jitterMs}ms ${c.jitter}${c.reorder ? ' reorder' : ''}`);
  if (c.loss) parts.push(`loss ${c.loss}`);
  if (c.gilbertElliott) parts.push(`burst ${c.gilbertElliott.pGoodToBad}/${c.gilbertElliott.pBadToGood}`);
  if (c.rateKbps) parts.push(`rate ${c.rateKbps}kbps q ${c.queueBytes}B`);
  if (c.duplicate) parts.push(`dup ${c.duplicate}`);
  return parts.length ? parts.join(', ') : 'clear';
}

main();
