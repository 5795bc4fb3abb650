/**
 * Structured logs (pino). Log lines carry pseudonyms at most, never a raw meter ID: the
 * serializers below drop the fields that could hold one if a caller passes a whole record.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['meterId', '*.meterId', 'value.meterId', 'key', 'record'];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level (`fatal`..`trace`, `silent`). */
  level: string;
  /** The `name` field of every line; default `meterstream`. */
  name?: string;
  /** Where lines go; default stdout. Ignored with `file`. */
  destination?: NodeJS.WritableStream;
  /** A file the lines are appended to (its directory created), instead of a stream. */
  file?: string;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.file !== undefined
      ? pino.destination({ dest: options.file, mkdir: true, append: true, sync: false })
      : ((options.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 1, sync: false }));
  return pino(
    {
      level: options.level,
      name: options.name ?? 'meterstream',
      redact: { paths: REDACT, remove: true },
      base: { pid: process.pid },
    },
    destination,
  );
}
