/** A small structured logger: one JSON line per event on stderr, filtered by level. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
  /** The least severe level written (media workers log at their server's level). */
  readonly level: LogLevel;
}

export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}, out: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = ORDER[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level: lvl, msg };
    // A field named like the record's own keys (say a caps `level`) cannot overwrite them.
    for (const src of [bindings, fields]) {
      if (!src) continue;
      for (const k of Object.keys(src)) {
        if (k === 't' || k === 'level' || k === 'msg') continue;
        const v = src[k];
        rec[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
      }
    }
    out(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger(level, { ...bindings, ...b }, out),
    level,
  };
}
