/** Messages between the recorder (main thread) and its storage thread (store-worker.ts). */
import type { RecorderEvent } from '../events.ts';
import type { SpaceSummary, TimelinePage, TimelineQuery } from './sqlite-store.ts';

export interface StoreInit {
  /** The database file, or ':memory:'. */
  path: string;
}

export type StoreRequest =
  /** Fire and forget: a flush of the recorder's buffer (validated here, off the media thread). */
  | { t: 'append'; events: RecorderEvent[]; streamSeq?: number }
  | { t: 'streamSeq'; id: number }
  | { t: 'query'; id: number; q: TimelineQuery }
  | { t: 'spaces'; id: number }
  | { t: 'prune'; id: number; beforeTs: number }
  | { t: 'close'; id: number };

export type StoreReply =
  | { t: 'ready' }
  | { t: 'ok'; id: number; value: TimelinePage | SpaceSummary[] | number | null }
  | { t: 'error'; id: number; message: string }
  /** After each append: what was stored, what failed validation (with the first reason), the file's size. */
  | { t: 'appended'; stored: number; invalid: number; firstInvalid?: string; bytes: number; failed?: string }
  | { t: 'fatal'; message: string };
