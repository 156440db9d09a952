/**
 * Opening the camera and microphone, and saying in plain words what went wrong. Camera and microphone are
 * asked for together first (one prompt), then each on its own when that fails, so a blocked camera still
 * leaves the microphone (and the other way round) and each failure is told apart.
 */
export type MediaDeviceKind = 'camera' | 'microphone' | 'speaker' | 'screen';
export type MediaErrorReason = 'denied' | 'not-found' | 'in-use' | 'other';

export interface MediaErrorEvent {
  kind: MediaDeviceKind;
  reason: MediaErrorReason;
  /** A sentence for the person in front of the screen. */
  message: string;
  /** The DOMException name, when there was one. */
  name?: string;
}

const WHAT: Record<MediaDeviceKind, string> = { camera: 'camera', microphone: 'microphone', speaker: 'speaker or headphones', screen: 'screen sharing' };

/** getUserMedia / getDisplayMedia errors by DOMException name (Chromium and Firefox spell them alike). */
export function classifyMediaError(kind: MediaDeviceKind, err: unknown): MediaErrorEvent {
  const name = typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string' ? (err as { name: string }).name : undefined;
  const what = WHAT[kind];
  let reason: MediaErrorReason = 'other';
  let message: string;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    reason = 'denied';
    message =
      kind === 'screen'
        ? 'Screen sharing was not allowed.'
        : `Your ${what} is blocked for this page. Allow it in the browser's site settings, then press Retry. You can still see and hear the others.`;
  } else if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    reason = 'not-found';
    message = kind === 'speaker' ? 'No speaker or headphones found: you will not hear anyone until you connect one.' : `No ${what} found. Connect one, then press Retry.`;
  } else if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    reason = 'in-use';
    message = `Your ${what} could not be started (another application may be using it). Close it, then press Retry.`;
  } else {
    message = `Your ${what} could not be opened${name ? ` (${name})` : ''}.`;
  }
  return { kind, reason, message, ...(name ? { name } : {}) };
}

export interface LocalMediaRequest {
  audio: boolean | MediaTrackConstraints;
  video: boolean | MediaTrackConstraints;
}

type GetUserMedia = (c: MediaStreamConstraints) => Promise<MediaStream>;

/**
 * A stream with what could be opened (null if nothing), and one error per device that could not.
 * `gum` is navigator.mediaDevices.getUserMedia (injectable for tests).
 */
export async function openLocalMedia(req: LocalMediaRequest, gum: GetUserMedia): Promise<{ stream: MediaStream | null; errors: MediaErrorEvent[] }> {
  const wantAudio = req.audio !== false;
  const wantVideo = req.video !== false;
  if (!wantAudio && !wantVideo) return { stream: null, errors: [] };
  if (wantAudio && wantVideo) {
    try {
      return { stream: await gum({ audio: req.audio, video: req.video }), errors: [] };
    } catch {
      // Find out which one fails, keeping the other.
    }
  }
  const errors: MediaErrorEvent[] = [];
  const tracks: MediaStreamTrack[] = [];
  if (wantAudio) {
    try {
      tracks.push(...(await gum({ audio: req.audio })).getTracks());
    } catch (e) {
      errors.push(classifyMediaError('microphone', e));
    }
  }
  if (wantVideo) {
    try {
      tracks.push(...(await gum({ video: req.video })).getTracks());
    } catch (e) {
      errors.push(classifyMediaError('camera', e));
    }
  }
  return { stream: tracks.length > 0 ? new MediaStream(tracks) : null, errors };
}

/** Devices by what they are for; `enumerate` is navigator.mediaDevices.enumerateDevices. */
export async function listDevices(enumerate: () => Promise<MediaDeviceInfo[]>): Promise<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[]; speakers: MediaDeviceInfo[] }> {
  const all = await enumerate();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}
