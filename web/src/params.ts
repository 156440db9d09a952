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
  /** Camera capture size, `video=WxH` (default 1280x720, which gives Chrome room for three simulcast layers). */
  video: { width: number; height: number };
  /** `simulcast=0`: send one video encoding instead of three layers. */
  simulcast: boolean;
  /** `codec=h264`: send video as H.264 (default VP8). */
  codec: 'vp8' | 'h264';
  /** `maxVideos=N`, `maxHeight=H`: this page's receive limits (the server allocates within them). */
  maxVideos?: number;
  maxHeight?: number;
  /** Cluster mode: `region=R` joins the best node of region R; `pick=1` the one answering fastest. */
  region?: string;
  pick: boolean;
  /** `reconnect=0`: stay disconnected when the signaling drops (ClientOptions.failover false). */
  reconnect: boolean;
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
    simulcast: q.get('simulcast') !== '0',
    codec: q.get('codec') === 'h264' ? 'h264' : 'vp8',
    maxVideos: intParam(q.get('maxVideos')),
    maxHeight: intParam(q.get('maxHeight')),
    region: /^[A-Za-z0-9_.-]{1,64}$/.test(q.get('region') ?? '') ? q.get('region')! : undefined,
    pick: q.get('pick') === '1',
    reconnect: q.get('reconnect') !== '0',
  };
}

function videoSize(v: string | null): { width: number; height: number } {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(v ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 1280, height: 720 };
}
