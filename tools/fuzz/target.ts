/** What a fuzz target is: one entry point of the server that a stranger's bytes reach, with its envelope. */
import type { InputKind } from './engine.ts';

export interface FuzzTarget {
  /** Directory name under test/fuzz/corpus and test/fuzz/regressions, and the CLI's --target. */
  readonly name: string;
  /** The server code it drives, in one line. */
  readonly about: string;
  readonly kind: InputKind;
  /** Largest input the mutator makes (the server's own cap for that input, or the UDP datagram size). */
  readonly maxLen: number;
  /**
   * Leading bytes that are not wire bytes but the harness's envelope (mode bits: which role, whether to
   * re-sign or re-protect after mutation so the input gets past authentication, which source address).
   * Mutated rarely, so most mutations land in the wire bytes.
   */
  readonly headerBytes: number;
  /**
   * A known finding that other work fixes (issue 15), e.g. a parse cost that is linear only after a change
   * elsewhere: the short test then checks this target's slowest call against `knownSlowMs` instead of the
   * usual bound. The CLI still reports every call ≥ 10 ms.
   */
  readonly known?: { note: string; knownSlowMs: number };
  /** Once per process, before the first input (certificates, sessions, keys). */
  setup?(): Promise<void>;
  /** One input. Returns a short label of what happened (a drop reason, 'ok'): new labels grow the corpus. */
  run(input: Buffer): string;
  /** An exception the API documents for bad input (e.g. TokenError) is no escape. */
  expected?(e: unknown): boolean;
  /** Between batches: let go of state that grows (sessions recreated, queues cleared). Not timed. */
  maintain?(inputs: number): void;
  /** End of the run: close what setup opened. */
  close?(): void;
}
