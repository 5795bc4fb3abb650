/**
 * Structured logs (pino). Log lines carry pseudonyms at most, never a raw meter ID: the
 * serializers below drop the fields that could hold one if a caller passes a whole record.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['meterId', '*.meterId', 'value.meterId', 'key', 'record'];

/** Creates the process logger. */
export function createLogger(options: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'meterstream',
      redact: { paths: REDACT, remove: true },
      base: { pid: process.pid },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 1, sync: false }),
  );
}
