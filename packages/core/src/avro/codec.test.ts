import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeterError } from '../errors.js';
import { AvroCodec, createAvroCodec, type Decoded } from './codec.js';
import { loadSchemaSet, type MeterReading, type MeterReadingBatch, type RecordName } from './schema-set.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/avro/', import.meta.url));

interface GoldenCase {
  file: string;
  record: RecordName;
  writerVersion: number;
  readerVersion: number;
  expected: unknown;
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: GoldenCase[] };
const fixture = (file: string): Buffer => Buffer.from(readFileSync(join(FIXTURES, file), 'utf8').trim(), 'hex');
/** avsc returns records as class instances; compare them as plain data. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const codec = createAvroCodec();

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
  registerModulus: null,
};

const batch: MeterReadingBatch = {
  meterId: '707057500012345678',
  tenant: 'elvia',
  kind: 'ELECTRICITY_IMPORT',
  unit: 'KWH',
  readingType: 'INTERVAL',
  intervalSeconds: 900,
  zoneId: null,
  priceArea: 'NO1',
  registerModulus: null,
  readings: Array.from({ length: 96 }, (_, i) => ({
    ts: 1_717_200_000_000 + i * 900_000,
    value: i / 8,
    quality: 'MEASURED' as const,
  })),
};

function assertCode(fn: () => unknown, code: string, retriable = false): MeterError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MeterError, `expected MeterError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.retriable, retriable, `retriable of ${caught.message}`);
  return caught;
}

describe('golden bytes written by fastavro', () => {
  test('every schema version has at least one fixture', () => {
    const covered = new Set(golden.cases.map((c) => `${c.record}/v${c.writerVersion}`));
    for (const v of codec.schemas.versions)
      assert.ok(covered.has(`${v.record}/v${v.version}`), `no fixture for ${v.path}`);
  });

  for (const c of golden.cases) {
    test(`${c.file} decodes to fastavro's value`, () => {
      const decoded = codec.decode(fixture(c.file));
      assert.equal(decoded.schema, c.record);
      assert.deepEqual(plain(decoded.value), c.expected);
    });
  }

  test('our encoder writes the same bytes as fastavro for reader versions', () => {
    let compared = 0;
    for (const c of golden.cases.filter((g) => g.writerVersion === g.readerVersion)) {
      const ours = codec.encodeSingleObject(c.record, c.expected as never);
      assert.equal(ours.toString('hex'), fixture(c.file).toString('hex'), c.file);
      compared++;
    }
    assert.ok(compared >= 10);
  });

  test('MeterReading v1 bytes read through the v3 reader get null zoneId, priceArea and registerModulus', () => {
    const v1 = golden.cases.filter((c) => c.record === 'MeterReading' && c.writerVersion === 1);
    assert.ok(v1.length > 0);
    for (const c of v1) {
      const { value } = codec.decode(fixture(c.file)) as Extract<Decoded, { schema: 'MeterReading' }>;
      assert.equal(value.zoneId, null);
      assert.equal(value.priceArea, null);
      assert.equal(value.registerModulus, null);
      assert.equal(typeof value.ts, 'number');
    }
  });

  test('HourlyBatch v1 rows read through the v2 reader state an UNKNOWN source and no mismatch', () => {
    const v1 = golden.cases.filter((c) => c.record === 'HourlyBatch' && c.writerVersion === 1);
    const rows = v1.flatMap(
      (c) => (codec.decode(fixture(c.file)) as Extract<Decoded, { schema: 'HourlyBatch' }>).value.rows,
    );
    assert.ok(rows.length > 0);
    for (const r of rows) assert.deepEqual([r.source, r.registerMismatch], ['UNKNOWN', false]);
  });
});

describe('round trips', () => {
  test('readings and batches keep timestamps as numbers', () => {
    const one = codec.decode(codec.encodeSingleObject('MeterReading', reading));
    assert.deepEqual(plain(one), { schema: 'MeterReading', value: reading });
    const many = codec.decode(codec.encodeSingleObject('MeterReadingBatch', batch));
    assert.equal(many.schema, 'MeterReadingBatch');
    assert.deepEqual(plain(many.value), batch);
  });

  test('an old writer version encoded by us resolves to the reader', () => {
    const { zoneId: _z, priceArea: _p, registerModulus: _m, ...v1 } = reading;
    const decoded = codec.decode(codec.encodeSingleObject('MeterReading', v1 as MeterReading, 1));
    assert.deepEqual(plain(decoded.value), { ...reading, zoneId: null, priceArea: null, registerModulus: null });
    const { registerModulus: _b, ...batchV1 } = batch;
    const old = codec.decode(codec.encodeSingleObject('MeterReadingBatch', batchV1 as MeterReadingBatch, 1));
    assert.deepEqual(plain(old.value), { ...batch, registerModulus: null });
  });

  test('encoding a value that does not fit the schema is a validation error', () => {
    assertCode(
      () => codec.encodeSingleObject('MeterReading', { ...reading, kind: 'STEAM' as never }),
      'METER_ERR_VALIDATION',
    );
  });
});

describe('malformed input', () => {
  const good = codec.encodeSingleObject('MeterReading', reading);
  const goodBatch = codec.encodeSingleObject('MeterReadingBatch', batch);
  // `kind` is the first enum: after C3 01, 8 fingerprint bytes, meterId and tenant strings.
  const kindAt = 10 + 1 + Buffer.byteLength(reading.meterId) + 1 + Buffer.byteLength(reading.tenant);
  const badEnum = Buffer.from(good);
  badEnum[kindAt] = 0x7e; // zig-zag 63: no such MeterKind
  const badUnion = codec.encodeSingleObject('MeterReading', { ...reading, zoneId: null, priceArea: null });
  badUnion[badUnion.length - 2] = 0x08; // zoneId branch 4 of [null, string]
  const unknownFingerprint = Buffer.from(good);
  unknownFingerprint[5] ^= 0xff;
  // A batch whose `readings` claims 2^31 - 1 items: avsc alone would loop that many times.
  const emptyBatch = codec.encodeSingleObject('MeterReadingBatch', { ...batch, readings: [] });
  const hugeBlock = Buffer.concat([
    emptyBatch.subarray(0, -1),
    Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]),
    Buffer.alloc(64),
  ]);

  const cases: Array<[name: string, buf: Buffer, code: string]> = [
    ['empty buffer', Buffer.alloc(0), 'METER_ERR_AVRO_MAGIC'],
    ['random bytes', Buffer.from('8a3f9e51c0d2477b11e0', 'hex'), 'METER_ERR_AVRO_MAGIC'],
    ['JSON text', Buffer.from('{"meterId":"x"}'), 'METER_ERR_AVRO_MAGIC'],
    ['wrong magic (C3 02)', Buffer.concat([Buffer.from([0xc3, 0x02]), good.subarray(2)]), 'METER_ERR_AVRO_MAGIC'],
    [
      'Confluent framing without a registry',
      Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), good.subarray(10)]),
      'METER_ERR_AVRO_MAGIC',
    ],
    ['header cut inside the fingerprint', good.subarray(0, 6), 'METER_ERR_AVRO_TRUNCATED'],
    ['header without body', good.subarray(0, 10), 'METER_ERR_AVRO_TRUNCATED'],
    ['truncated body', good.subarray(0, good.length - 3), 'METER_ERR_AVRO_TRUNCATED'],
    ['truncated batch', goodBatch.subarray(0, goodBatch.length - 25), 'METER_ERR_AVRO_TRUNCATED'],
    ['array block count beyond the buffer', hugeBlock, 'METER_ERR_AVRO_TRUNCATED'],
    ['unknown fingerprint', unknownFingerprint, 'METER_ERR_AVRO_UNKNOWN_SCHEMA'],
    ['unknown enum symbol index', badEnum, 'METER_ERR_AVRO_DECODE'],
    ['invalid union branch', badUnion, 'METER_ERR_AVRO_DECODE'],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0x00])]), 'METER_ERR_AVRO_DECODE'],
  ];
  for (const [name, buf, code] of cases) {
    test(`${name} → ${code}`, () => {
      assertCode(() => codec.decode(buf), code);
    });
  }

  test('random garbage behind a valid header never escapes as anything but a MeterError', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const header = i % 2 ? good.subarray(0, 10) : goodBatch.subarray(0, 10);
      const body = Buffer.from(Array.from({ length: 1 + (i % 60) }, rnd));
      try {
        codec.decode(Buffer.concat([header, body]));
      } catch (err) {
        assert.ok(err instanceof MeterError, String(err));
        assert.match(err.code, /^METER_ERR_AVRO_(TRUNCATED|DECODE)$/);
      }
    }
  });
});

describe('schema directory', () => {
  test('can be overridden, and a misnamed schema file stops loading', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meterstream-avro-'));
    try {
      const schema = JSON.parse(readFileSync(join(codec.schemas.reader('Alert').path), 'utf8'));
      mkdirSync(join(dir, 'Alert'));
      writeFileSync(join(dir, 'Alert', 'v1.avsc'), JSON.stringify(schema));
      const only = new AvroCodec({ schemaDir: dir });
      assert.deepEqual(
        only.schemas.versions.map((v) => v.record),
        ['Alert'],
      );
      assertCode(() => only.decode(codec.encodeSingleObject('MeterReading', reading)), 'METER_ERR_AVRO_UNKNOWN_SCHEMA');

      mkdirSync(join(dir, 'Invoice'));
      writeFileSync(join(dir, 'Invoice', 'v1.avsc'), JSON.stringify(schema));
      assertCode(() => loadSchemaSet(dir), 'METER_ERR_CONFIG');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Confluent framing through a schema registry', () => {
  let server: Server;
  let url: string;
  const requests: string[] = [];
  const v1Schema = readFileSync(codec.schemas.version('MeterReading', 1).path, 'utf8');
  const batchSchema = readFileSync(codec.schemas.reader('MeterReadingBatch').path, 'utf8');
  const foreign = JSON.stringify({ type: 'record', name: 'other.Thing', fields: [{ name: 'x', type: 'int' }] });
  let failNext = 0;

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const id = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1];
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
        res.end(JSON.stringify(body));
      };
      if (failNext > 0) {
        failNext--;
        return reply(503, { error_code: 50301, message: 'unavailable' });
      }
      // Answer slowly so concurrent callers overlap.
      setTimeout(() => {
        if (id === '7') return reply(200, { schema: v1Schema });
        if (id === '8') return reply(200, { schema: batchSchema });
        if (id === '9') return reply(200, { schema: foreign });
        return reply(404, { error_code: 40403, message: 'Schema not found' });
      }, 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** A Confluent-framed MeterReading v1 body, as a producer with the registry would write it. */
  function confluentV1(id: number, meterId: string): Buffer {
    const { zoneId: _z, priceArea: _p, ...v1 } = { ...reading, meterId };
    const body = codec.schemas.version('MeterReading', 1).type.toBuffer(v1);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(id, 1);
    return Buffer.concat([header, body]);
  }

  test('fetches each schema once for many messages and resolves it to the reader', async () => {
    requests.length = 0;
    const registry = new AvroCodec({ schemaRegistryUrl: url });
    const messages = Array.from({ length: 100 }, (_, i) => confluentV1(7, `m${i}`));
    messages.push(registry.encodeConfluent(8, 'MeterReadingBatch', batch));
    assertCode(() => registry.decode(messages[0]), 'METER_ERR_SCHEMA_REGISTRY', true);
    await Promise.all([registry.prepare(messages), registry.prepare(messages.slice(0, 1))]);
    await registry.prepare(messages);
    assert.deepEqual(requests.sort(), ['/schemas/ids/7', '/schemas/ids/8']);
    for (let i = 0; i < 100; i++) {
      const decoded = registry.decode(messages[i]);
      assert.equal(decoded.schema, 'MeterReading');
      assert.deepEqual(plain(decoded.value), { ...reading, meterId: `m${i}`, zoneId: null, priceArea: null });
    }
    assert.deepEqual(plain(registry.decode(messages[100]).value), batch);
    // Single-object messages still work beside Confluent ones.
    assert.equal(
      registry.decode(
        codec.encodeSingleObject('Alert', {
          alertId: 'a',
          dedupKey: 'k',
          type: 'BURST',
          status: 'FIRING',
          severity: 'CRITICAL',
          tenant: 't',
          meter: 'p',
          zoneId: null,
          startsAt: 1,
          endsAt: null,
          summary: 's',
          details: { lph: 900 },
        }),
      ).schema,
      'Alert',
    );
  });

  test('decodeAsync fetches on demand', async () => {
    requests.length = 0;
    const registry = new AvroCodec({ schemaRegistryUrl: url });
    const decoded = await registry.decodeAsync(confluentV1(7, 'x'));
    assert.equal((decoded.value as MeterReading).meterId, 'x');
    assert.deepEqual(requests, ['/schemas/ids/7']);
  });

  test('an unknown schema ID (404) is bad input, not retried per message', async () => {
    requests.length = 0;
    const registry = new AvroCodec({ schemaRegistryUrl: url });
    const message = confluentV1(404, 'x');
    await registry.prepare([message, message]);
    const err = assertCode(() => registry.decode(message), 'METER_ERR_SCHEMA_REGISTRY', false);
    assert.match(err.message, /404/);
    await registry.prepare([message]);
    await assert.rejects(
      registry.decodeAsync(message),
      (e: MeterError) => e.code === 'METER_ERR_SCHEMA_REGISTRY' && !e.retriable,
    );
    assert.deepEqual(requests, ['/schemas/ids/404']);
  });

  test('a registry schema no reader knows is an unknown schema', async () => {
    const registry = new AvroCodec({ schemaRegistryUrl: url });
    const message = Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), Buffer.from([2])]);
    await registry.prepare([message]);
    assertCode(() => registry.decode(message), 'METER_ERR_AVRO_UNKNOWN_SCHEMA');
  });

  test('5xx and an unreachable registry are retriable and not cached', async () => {
    const registry = new AvroCodec({ schemaRegistryUrl: url });
    const message = confluentV1(7, 'x');
    failNext = 1;
    await assert.rejects(
      registry.prepare([message]),
      (e: MeterError) => e.code === 'METER_ERR_SCHEMA_REGISTRY' && e.retriable,
    );
    await registry.prepare([message]);
    assert.equal(registry.decode(message).schema, 'MeterReading');

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = new AvroCodec({ schemaRegistryUrl: deadUrl });
    await assert.rejects(
      dead.prepare([message]),
      (e: MeterError) => e.code === 'METER_ERR_SCHEMA_REGISTRY' && e.retriable,
    );
  });

  test('a truncated Confluent header is truncated input', () => {
    const registry = new AvroCodec({ schemaRegistryUrl: url });
    assertCode(() => registry.decode(Buffer.from([0, 0, 0])), 'METER_ERR_AVRO_TRUNCATED');
  });
});
