import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

/** The browser client, bundled once from web/ with esbuild at start (no build step to forget). */
export interface WebAssets {
  indexHtml: string;
  appJs: string;
}

export async function loadWebAssets(): Promise<WebAssets> {
  const [indexHtml, bundle] = await Promise.all([
    readFile(WEB + 'index.html', 'utf8'),
    build({ entryPoints: [WEB + 'app.ts'], bundle: true, format: 'esm', target: 'es2022', write: false, sourcemap: 'inline', logLevel: 'silent' }),
  ]);
  return { indexHtml, appJs: bundle.outputFiles[0].text };
}
