/**
 * The parsers of configuration values: each turns the raw text of one variable into a typed
 * value or throws a `ConfigError` naming the variable, and says in words what it accepts (the
 * "allowed" column of docs/configuration.md). Numeric and time-zone parsers also check the
 * JSON values of per-tenant detector overrides, so both go through the same bounds.
 */
import { ConfigError } from '../errors.js';

/** How one kind of value is read. */
export interface Parser<T> {
  /** What the parser accepts, in words, for the docs. */
  readonly allowed: string;
  /** The value of a set (non-empty) variable; throws `ConfigError(name, …)` when it is bad. */
  parse(raw: string, name: string): T;
  /** A raw value this parser refuses, or `null` when it takes any text (declaration tests). */
  readonly refused: string | null;
  /** A raw value it accepts that differs from `value` (declaration tests). */
  other(value: T | null): string;
}

/** A parser of numbers within bounds, which also checks numbers given as JSON. */
export interface NumberParser extends Parser<number> {
  readonly min: number;
  readonly max: number;
  /** Checks a JSON value (a per-tenant override); `what` prefixes the message. */
  check(value: unknown, name: string, what: string): number;
}

/** A number within bounds next to `value`; the maximum for a computed default (unlikely to equal it). */
function nextInside(value: number | null, step: number, min: number, max: number): number {
  if (value === null) return max;
  return value + step <= max ? value + step : value - step;
}

/** A whole number in [min, max]. */
export function int(min: number, max: number): NumberParser {
  return {
    allowed: `${min} … ${max}`,
    min,
    max,
    parse(raw, name) {
      if (!/^-?\d+$/.test(raw.trim()))
        throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < min || n > max)
        throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
      return n;
    },
    check(value, name, what) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
        throw new ConfigError(
          name,
          `${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
        );
      return value;
    },
    refused: String(max + 1),
    other: (value) => String(nextInside(value, 1, min, max)),
  };
}

/** A decimal number in [min, max]. */
export function num(min: number, max: number): NumberParser {
  return {
    allowed: `${min} … ${max}`,
    min,
    max,
    parse(raw, name) {
      const n = Number(raw.trim());
      if (!/^-?\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(n))
        throw new ConfigError(name, `expected a number, got ${JSON.stringify(raw)}`);
      if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
      return n;
    },
    check(value, name, what) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
        throw new ConfigError(name, `${what} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return value;
    },
    refused: String(max + 1),
    other: (value) => String(nextInside(value, 0.5, min, max)),
  };
}

/** Any text. */
export function text(): Parser<string> {
  return { allowed: 'any text', parse: (raw) => raw, refused: null, other: (v) => `${v ?? ''}-other` };
}

/** Text matching `pattern`, described by `allowed`. */
export function matching(pattern: RegExp, allowed: string, example: string): Parser<string> {
  return {
    allowed,
    parse(raw, name) {
      if (!pattern.test(raw)) throw new ConfigError(name, `${allowed}, got ${JSON.stringify(raw)}`);
      return raw;
    },
    refused: 'has a space',
    other: (v) => (v === example ? `${example}_2` : example),
  };
}

/** One of a fixed list (case-insensitive), returned in lower case. */
export function oneOf<const V extends string>(values: readonly V[]): Parser<V> {
  const list = `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
  return {
    allowed: values.map((v) => `\`${v}\``).join(', '),
    parse(raw, name) {
      const v = raw.trim().toLowerCase() as V;
      if (!values.includes(v)) throw new ConfigError(name, `expected ${list}, got ${JSON.stringify(raw)}`);
      return v;
    },
    refused: 'none-of-these',
    other: (v) => values.find((x) => x !== v) ?? values[0],
  };
}

/** `true`/`false` (also 1/0, yes/no). */
export function bool(): Parser<boolean> {
  return {
    allowed: '`true`, `false` (also 1/0, yes/no)',
    parse(raw, name) {
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
    },
    refused: 'maybe',
    other: (v) => String(!v),
  };
}

/** An http(s) URL; a trailing slash is dropped. */
export function httpUrl(): Parser<string> {
  return {
    allowed: 'http(s) URL',
    parse(raw, name) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new ConfigError(name, `not a URL: ${JSON.stringify(raw)}`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new ConfigError(name, `expected an http(s) URL, got ${parsed.protocol}`);
      return raw.replace(/\/+$/, '');
    },
    refused: 'ftp://example.com',
    other: () => 'http://example.com:8123',
  };
}

/** A Kafka topic name. */
export function topic(): Parser<string> {
  return {
    allowed: 'Kafka topic name (letters, digits, `.`, `_`, `-`)',
    parse(raw, name) {
      if (!/^[A-Za-z0-9._-]{1,249}$/.test(raw))
        throw new ConfigError(name, `not a valid Kafka topic name: ${JSON.stringify(raw)}`);
      return raw;
    },
    refused: 'bad topic',
    other: (v) => `${v ?? 'topic'}.other`,
  };
}

/** A comma-separated `host:port` list. */
export function brokerList(): Parser<string[]> {
  return {
    allowed: '`host:port[,host:port…]`',
    parse(raw, name) {
      const list = raw
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
      for (const b of list) {
        if (!/^[^\s:]+:\d{1,5}$/.test(b))
          throw new ConfigError(name, `expected host:port entries, got ${JSON.stringify(b)}`);
      }
      if (list.length === 0) throw new ConfigError(name, 'empty broker list');
      return list;
    },
    refused: 'localhost',
    other: () => 'kafka-1:9092,kafka-2:9092',
  };
}

/** Parses a hex pseudonym key; exported for the demo's key file. */
export function parsePseudonymKey(raw: string, field = 'METERSTREAM_PSEUDONYM_KEY'): Buffer {
  const hex = raw.trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new ConfigError(field, 'expected hex digits');
  const key = Buffer.from(hex, 'hex');
  if (key.length < 32)
    throw new ConfigError(field, `expected at least 32 bytes (64 hex digits), got ${key.length} bytes`);
  return key;
}

/** A hex key of at least 32 bytes. */
export function hexKey(): Parser<Buffer> {
  return {
    allowed: 'hex, at least 32 bytes (64 digits)',
    parse: (raw, name) => parsePseudonymKey(raw, name),
    refused: 'abcd',
    other: () => 'ab'.repeat(32),
  };
}

/** An IANA time zone, also given as JSON. */
export interface TimeZoneParser extends Parser<string> {
  check(value: unknown, name: string, what: string): string;
}

/** An IANA time zone name. */
export function timeZone(): TimeZoneParser {
  const valid = (tz: string, name: string) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      throw new ConfigError(name, `not an IANA time zone: ${JSON.stringify(tz)}`);
    }
    return tz;
  };
  return {
    allowed: 'IANA time zone',
    parse: valid,
    check(value, name, what) {
      if (typeof value !== 'string') throw new ConfigError(name, `${what} must be a string`);
      return valid(value, name);
    },
    refused: 'Europe/Atlantis',
    other: (v) => (v === 'Europe/Stockholm' ? 'Europe/Oslo' : 'Europe/Stockholm'),
  };
}

/** A local-hour window `HH-HH` within one night; `parts` check its ends as separate numbers. */
export interface HourWindowParser extends Parser<readonly [number, number]> {
  readonly parts: readonly [NumberParser, NumberParser];
}

/** A local-hour window `HH-HH` within one night, each end within its own bounds. */
export function hourWindow(start: NumberParser, end: NumberParser): HourWindowParser {
  return {
    allowed: `\`HH-HH\`, start ${start.min} … ${start.max} before end ${end.min} … ${end.max}`,
    parts: [start, end],
    parse(raw, name) {
      const m = /^(\d{1,2})-(\d{1,2})$/.exec(raw.trim());
      if (m === null) throw new ConfigError(name, `expected HH-HH local hours, got ${JSON.stringify(raw)}`);
      const [s, e] = [Number(m[1]), Number(m[2])];
      if (s < start.min || s > start.max || e < end.min || e > end.max || s >= e) {
        throw new ConfigError(
          name,
          `expected a window inside one night (start < end <= 24), got ${JSON.stringify(raw)}`,
        );
      }
      return [s, e];
    },
    refused: '05-02',
    other: (v) => formatWindow(v === null ? [start.min, end.max] : [v[0] > start.min ? v[0] - 1 : v[0] + 1, v[1]]),
  };
}

/** `[2, 5]` → `02-05`. */
export function formatWindow([s, e]: readonly [number, number]): string {
  return `${String(s).padStart(2, '0')}-${String(e).padStart(2, '0')}`;
}

/** A JSON object (its contents checked by whoever reads it). */
export function jsonObject(): Parser<Record<string, unknown>> {
  return {
    allowed: 'JSON object',
    parse(raw, name) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        throw new ConfigError(name, `not JSON: ${(err as Error).message}`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new ConfigError(name, 'expected an object of tenant → settings');
      return parsed as Record<string, unknown>;
    },
    refused: '{oops',
    other: () => '{"example-tenant":{"nightFlowWarningLph":20}}',
  };
}
