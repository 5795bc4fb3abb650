/**
 * Fault injection at the ClickHouse seam, for tests: a real client (embedded engine or server)
 * wrapped so that the test decides, statement by statement, what ClickHouse does: stall (the
 * statement waits until released, then runs), fail with a network error the way a dropped
 * connection does (`ECONNRESET`, retriable by `isRetriableClickHouseError`), or refuse an
 * insert's rows with ClickHouse's own bad-data error (code 27, a parse error). Services get
 * their client through `ServiceDeps`, so a test hands them the wrapper; nothing is mocked
 * behind it.
 */
import { Readable } from 'node:stream';
import { ClickHouseError } from '@clickhouse/client';
import type { ClickHouseClient } from '../clickhouse/client.js';

/** The client's statement methods: every one of them meets the faults. */
const STATEMENTS = new Set(['insert', 'query', 'command', 'exec', 'ping']);

/** What the faults did so far, to prove a scenario exercised them. */
export interface FaultCounts {
  /** Statements that waited for a stall to end. */
  stalled: number;
  /** Statements failed with the network error. */
  failed: number;
  /** Inserts refused as bad data. */
  refused: number;
}

/** A wrapped client and the controls of its faults. */
export interface ClickHouseFaults {
  /** The client to hand to the services. */
  readonly client: ClickHouseClient;
  readonly counts: FaultCounts;
  /** From now on every statement waits (statements already running finish) until {@link release}. */
  stall(): void;
  /** Ends the stall: the statements held run now, in the order they came. */
  release(): void;
  /** Fails this share (0 to 1) of statements before they reach ClickHouse; 0 stops the failures. */
  failShare(share: number, random?: () => number): void;
  /** Inserts holding a line for which `match` is true are refused as bad data; `null` stops it. */
  refuseRows(match: ((line: string) => boolean) | null): void;
}

/** The error a statement meets when its connection is reset (what Node gives `@clickhouse/client`). */
function connectionReset(method: string): Error {
  return Object.assign(new Error(`${method}: socket hang up (injected fault)`), { code: 'ECONNRESET' });
}

/** An insert's rows as text lines, and its params with the same rows readable again. */
async function insertLines<P extends { values?: unknown }>(params: P): Promise<{ lines: string[]; params: P }> {
  const values = params.values;
  if (values instanceof Readable) {
    let text = '';
    for await (const chunk of values) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return {
      lines: text.split('\n'),
      params: { ...params, values: Readable.from([text], { objectMode: false, encoding: 'utf8' }) },
    };
  }
  const rows = Array.isArray(values) ? values : [values];
  return { lines: rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))), params };
}

/** Wraps `client`; no fault is active until the test asks for one. */
export function withClickHouseFaults(client: ClickHouseClient): ClickHouseFaults {
  const counts: FaultCounts = { stalled: 0, failed: 0, refused: 0 };
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let share = 0;
  let random: () => number = Math.random;
  let refuse: ((line: string) => boolean) | null = null;

  /** Applies the faults in force to one statement, then runs it (or throws the fault's error). */
  const faulted = async (method: string, run: (params: unknown) => Promise<unknown>, params: unknown) => {
    if (gate !== null) {
      counts.stalled++;
      await gate.promise;
    }
    if (share > 0 && random() < share) {
      counts.failed++;
      const error = connectionReset(method);
      // ping reports failures as a value, as the client does.
      if (method === 'ping') return { success: false, error };
      throw error;
    }
    if (method === 'insert' && refuse !== null) {
      const match = refuse;
      const read = await insertLines(params as { values?: unknown });
      if (read.lines.some((l) => l !== '' && match(l))) {
        counts.refused++;
        throw new ClickHouseError({
          message: "Cannot parse input: expected '\\t' before: (injected bad data)",
          code: '27',
          type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
        });
      }
      params = read.params;
    }
    return run(params);
  };

  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const bound = (value as (...a: unknown[]) => unknown).bind(target);
      if (!STATEMENTS.has(String(prop))) return bound;
      return (params?: unknown) => faulted(String(prop), (p) => bound(p) as Promise<unknown>, params);
    },
  });

  return {
    client: wrapped,
    counts,
    stall() {
      if (gate !== null) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = null;
    },
    failShare(s, r = Math.random) {
      share = s;
      random = r;
    },
    refuseRows(match) {
      refuse = match;
    },
  };
}
