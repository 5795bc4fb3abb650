/**
 * The registry client's limits, counted at a stand-in registry: bounded requests and concurrency
 * for a batch of random schema IDs, LRU bounds, the negative TTL on an injected clock, the
 * lookup metric, and basic auth from the URL.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { MeterError } from '../errors.js';
import { AvroCodec } from './codec.js';
import { SchemaRegistryClient, type SchemaRegistryOptions } from './schema-registry.js';
import type { MeterReading } from './schema-set.js';

const codec = new AvroCodec();
const readerSchema = codec.schemas.reader('MeterReading').canonical;
const reading: MeterReading = {
  meterId: 'WM-0042',
  tenant: 'default',
  kind: 'WATER',
  unit: 'L',
  readingType: 'INTERVAL',
  ts: 1_717_200_000_000,
  intervalSeconds: 3600,
  value: 12.5,
  quality: 'MEASURED',
  zoneId: 'blokk-B',
  priceArea: null,
};

/**
 * A stand-in registry: IDs below 100 (and those in `registered`) are MeterReading, others 404;
 * 503 while `failing`. It counts requests and the most it had open at once. Until `latch`
 * requests have arrived it answers none, so a client allowed `latch` or more at once is seen
 * with at least that many open; after that each answer waits a few ms for others to arrive.
 */
class StandIn {
  server!: Server;
  url = '';
  requests: string[] = [];
  auth: Array<string | undefined> = [];
  open = 0;
  maxOpen = 0;
  latch = 0;
  failing = false;
  readonly registered = new Set<number>();
  private held: Array<() => void> = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.requests = [];
    this.auth = [];
    this.maxOpen = 0;
    this.latch = 0;
    this.failing = false;
    this.registered.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    this.auth.push(req.headers.authorization);
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    const id = Number(/^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN);
    const answer = () =>
      setTimeout(() => {
        this.open--;
        res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
        if (this.failing) {
          res.statusCode = 503;
          res.end(JSON.stringify({ error_code: 50301, message: 'unavailable' }));
        } else if (id < 100 || this.registered.has(id)) {
          res.end(JSON.stringify({ schema: readerSchema }));
        } else {
          res.statusCode = 404;
          res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
        }
      }, 5);
    if (this.requests.length < this.latch) {
      this.held.push(answer);
      return;
    }
    for (const release of this.held.splice(0)) release();
    answer();
  }
}

const registry = new StandIn();
before(() => registry.start());
after(() => new Promise<void>((resolve) => registry.server.close(() => resolve())));
beforeEach(() => registry.reset());

function framed(id: number): Buffer {
  return codec.encodeConfluent(id, 'MeterReading', reading);
}

/** The error `decode()` throws for `buf`. */
function decodeError(c: AvroCodec, buf: Buffer): MeterError {
  try {
    c.decode(buf);
  } catch (err) {
    assert.ok(err instanceof MeterError, String(err));
    return err;
  }
  assert.fail('decode did not throw');
}

/** A client keeping `{ id }` per schema, so tests can see what is cached without Avro. */
function client(options: Partial<SchemaRegistryOptions<{ id: number }>> = {}) {
  return new SchemaRegistryClient<{ id: number }>({ url: registry.url, bind: (_schema, id) => ({ id }), ...options });
}

/** `[message, id]` pairs as the codec hands them over. */
const batchOf = (ids: number[]): Array<[Buffer, number]> => ids.map((id) => [framed(id), id]);

/** Deterministic "random" 32-bit schema IDs at or above 100 (all unknown to the stand-in). */
function randomIds(count: number, seed: number): number[] {
  const ids = new Set<number>();
  while (ids.size < count) {
    seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
    if (seed >= 100) ids.add(seed);
  }
  return [...ids];
}

describe('schema registry client limits', () => {
  test('10,000 random schema IDs in one batch: 32 requests, at most 4 open, every message decodes or is refused as bad input', async () => {
    registry.latch = 4;
    const c = new AvroCodec({ schemaRegistryUrl: registry.url });
    const good = framed(7);
    const randoms = randomIds(10_000, 42).map(framed);
    const batch = [good, ...randoms, good];
    await c.prepare(batch);

    assert.equal(registry.requests.length, 32, 'the per-batch lookup limit');
    assert.equal(registry.maxOpen, 4, 'the concurrency limit, reached');
    assert.equal(c.decode(good).schema, 'MeterReading');
    const reasons = new Map<string, number>();
    for (const buf of randoms) {
      const err = decodeError(c, buf);
      assert.equal(err.retriable, false, err.message);
      reasons.set(err.code, (reasons.get(err.code) ?? 0) + 1);
    }
    // 31 looked up and not found (404), the rest refused for the limit: both go to the DLQ.
    assert.deepEqual(Object.fromEntries(reasons), {
      METER_ERR_SCHEMA_REGISTRY: 31,
      METER_ERR_AVRO_UNKNOWN_SCHEMA: 10_000 - 31,
    });
    assert.match(decodeError(c, randoms[9_999]).message, /more than 32 unknown schema IDs in one batch/);

    // The same batch again (a redelivery): 404s are remembered, the next 32 unknown IDs are asked.
    await c.prepare(batch);
    assert.equal(registry.requests.length, 64);
    assert.equal(new Set(registry.requests).size, 64, 'no ID asked twice');
  });

  test('known IDs are kept in an LRU of bounded size, the batch being decoded survives', async () => {
    const c = client({ cacheSize: 3, negativeCacheSize: 2 });
    const first = batchOf([1, 2, 3]);
    await c.prepare(first);
    for (const [buf, id] of first) assert.deepEqual(c.cached(id, buf), { ok: true, value: { id } });
    await c.prepare(batchOf([4, 5]));
    assert.deepEqual(c.size, { known: 3, negative: 0 });
    assert.deepEqual(
      first.map(([buf, id]) => c.cached(id, buf)?.ok),
      [undefined, undefined, true],
      '1 and 2 evicted, least recently used first',
    );
    registry.requests = [];
    await c.prepare(batchOf([5, 1]));
    assert.deepEqual(registry.requests, ['/schemas/ids/1'], '5 still cached, 1 asked again');

    await c.prepare(batchOf([200, 201, 202, 203]));
    assert.deepEqual(c.size, { known: 3, negative: 2 });
  });

  test('a 404 is asked again only after the negative TTL, on the injected clock', async () => {
    let now = 1_000_000;
    const c = client({ negativeTtlMs: 60_000, now: () => now });
    const [[buf, id]] = batchOf([404]);
    await c.prepare([[buf, id]]);
    assert.equal(registry.requests.length, 1);
    const refused = c.cached(id, buf);
    assert.ok(refused && !refused.ok);
    assert.equal(refused.error.code, 'METER_ERR_SCHEMA_REGISTRY');
    assert.equal(refused.error.retriable, false);

    registry.registered.add(404);
    now += 59_999;
    await c.prepare([[buf, id]]);
    assert.equal(registry.requests.length, 1, 'within the TTL: not asked');
    assert.equal(c.cached(id, buf)?.ok, false);

    now += 1;
    await c.prepare([[buf, id]]);
    assert.equal(registry.requests.length, 2, 'TTL over: asked again');
    assert.deepEqual(c.cached(id, buf), { ok: true, value: { id: 404 } }, 'registered since: now known');
  });

  test('lookups are counted by outcome', async () => {
    const metrics = new Registry();
    const c = client({ metrics, maxLookupsPerBatch: 3 });
    const count = async () => {
      const values = (await metrics.getSingleMetric('meterstream_schema_registry_lookups_total')!.get()).values;
      return Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]));
    };
    await c.prepare(batchOf([7, 7, 8, 404]));
    assert.deepEqual(await count(), { miss: 2, not_found: 1 });
    await c.prepare(batchOf([7, 8, 404, 9, 10, 11, 12, 13]));
    assert.deepEqual(await count(), { miss: 5, not_found: 1, hit: 3, skipped: 2 });
    registry.failing = true;
    await assert.rejects(c.prepare(batchOf([14])), (e: MeterError) => e.retriable);
    assert.deepEqual(await count(), { miss: 5, not_found: 1, hit: 3, skipped: 2, error: 1 });
    // A second client on the same metrics registry shares the counter.
    registry.failing = false;
    await client({ metrics }).prepare(batchOf([15]));
    assert.equal((await count()).miss, 6);
  });

  test('the codec wires its metrics registry', async () => {
    const metrics = new Registry();
    const c = new AvroCodec({ schemaRegistryUrl: registry.url, metricsRegistry: metrics });
    await c.prepare([framed(7), framed(404)]);
    const text = await metrics.metrics();
    assert.match(text, /meterstream_schema_registry_lookups_total\{outcome="miss"\} 1/);
    assert.match(text, /meterstream_schema_registry_lookups_total\{outcome="not_found"\} 1/);
  });

  test('credentials in the URL become basic auth and leave the URL', async () => {
    const url = new URL(registry.url);
    url.username = 'meter';
    url.password = 's3cr:t';
    await client({ url: url.toString() }).prepare(batchOf([7]));
    assert.deepEqual(registry.requests, ['/schemas/ids/7']);
    assert.deepEqual(registry.auth, [`Basic ${Buffer.from('meter:s3cr:t').toString('base64')}`]);
  });
});
