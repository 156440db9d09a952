import { MODES, type Mode } from '../sdk/protocol.ts';

/** The page's URL parameters (the automation surface documents them in web/README.md). */
export interface PageParams {
  space: string;
  name: string;
  x?: number;
  y?: number;
  mode?: Mode;
  token?: string;
  publish: boolean;
  /** Camera capture size, `video=WxH` (default 640x480): smaller for weak machines or many pages. */
  video: { width: number; height: number };
}

function intParam(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

export function readParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const mode = q.get('mode');
  return {
    space: q.get('space') || 'lobby',
    name: q.get('name') || `guest-${Math.floor(Math.random() * 1000)}`,
    x: intParam(q.get('x')),
    y: intParam(q.get('y')),
    mode: MODES.includes(mode as Mode) ? (mode as Mode) : undefined,
    token: q.get('token') || undefined,
    publish: q.get('publish') !== '0',
    video: videoSize(q.get('video')),
  };
}

function videoSize(v: string | null): { width: number; height: number } {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(v ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 640, height: 480 };
}
