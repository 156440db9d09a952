import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web client: sources in web/, built to web/dist (the server serves it). `npx vite` serves it for development, proxying to a local server. */
const target = process.env.PROXIMA_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'web',
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Maps stay in web/dist for whoever debugs on the machine; the scripts do not name them and the
    // server does not serve them (src/server/web-assets.ts).
    sourcemap: 'hidden',
    // Two pages: the space (/) and the flight recorder's replay (/delorean).
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('web/index.html', import.meta.url)),
        delorean: fileURLToPath(new URL('web/delorean.html', import.meta.url)),
      },
    },
  },
  server: {
    proxy: {
      '/ws': { target, ws: true },
      '/api': { target },
    },
  },
});
