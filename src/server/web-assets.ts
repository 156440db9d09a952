import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');
const DIST = join(WEB, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The built web client (Vite, web/ → web/dist), held in memory: a few hundred KiB. */
export interface WebAssets {
  get(path: string): { body: Buffer; type: string } | null;
}

async function newestMtime(dir: string, skip: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === skip || e.name === 'node_modules') continue;
    newest = Math.max(newest, e.isDirectory() ? await newestMtime(p, skip) : (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Build web/ with Vite when web/dist is missing or older than a source file (no build step to forget). */
export async function ensureWebBuilt(log: (msg: string) => void): Promise<void> {
  const built = await stat(join(DIST, 'index.html')).then((s) => s.mtimeMs, () => 0);
  const sources = Math.max(await newestMtime(WEB, DIST), await stat(join(ROOT, 'vite.config.ts')).then((s) => s.mtimeMs, () => 0));
  if (built >= sources) return;
  log('building the web client with Vite');
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'vite.config.ts'), root: WEB, logLevel: 'warn' });
}

export async function loadWebAssets(log: (msg: string) => void = () => {}): Promise<WebAssets> {
  await ensureWebBuilt(log);
  const files = new Map<string, { body: Buffer; type: string }>();
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      // Source maps would hand the page's source, comments included, to anyone: built, not served.
      else if (extname(p) === '.map') continue;
      else files.set('/' + p.slice(DIST.length + 1).split(sep).join('/'), { body: await readFile(p), type: TYPES[extname(p)] ?? 'application/octet-stream' });
    }
  };
  await walk(DIST);
  return {
    get(path: string) {
      // Pages by their plain names: / is the space, /delorean the recorder's replay.
      const clean = normalize(path === '/' ? '/index.html' : path === '/delorean' ? '/delorean.html' : path);
      return files.get(clean) ?? null;
    },
  };
}
