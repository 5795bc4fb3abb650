import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRC64_AVRO_EMPTY, crc64Avro, parsingCanonicalForm, schemaFingerprint } from './fingerprint.js';
import { defaultSchemaDir } from './schema-set.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/avro/', import.meta.url));

// Test vectors of the Avro specification's own suite (apache/avro share/test/data/schema-tests.txt):
// input schema, its Parsing Canonical Form, and the CRC-64-AVRO fingerprint as a signed long.
const SPEC_VECTORS: Array<[input: string, canonical: string, fingerprint?: bigint]> = [
  ['"null"', '"null"', 7195948357588979594n],
  ['{"type":"null"}', '"null"'],
  ['"boolean"', '"boolean"', -6970731678124411036n],
  ['{"type":"boolean"}', '"boolean"'],
  ['"int"', '"int"', 8247732601305521295n],
  ['{"type":"int"}', '"int"'],
  ['"long"', '"long"', -3434872931120570953n],
  ['"float"', '"float"', 5583340709985441680n],
  ['"double"', '"double"', -8181574048448539266n],
  ['"bytes"', '"bytes"', 5746618253357095269n],
  ['"string"', '"string"', -8142146995180207161n],
  ['[  ]', '[]', -1241056759729112623n],
  ['[ "int"  ]', '["int"]', -5232228896498058493n],
  ['[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090n],
  ['{"fields":[], "type":"record", "name":"foo"}', '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  [
    '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    '{"name":"x.y.foo","type":"record","fields":[]}',
    5916914534497305771n,
  ],
  [
    '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
    '{"name":"a.b.foo","type":"record","fields":[]}',
    -4616218487480524110n,
  ],
  [
    '{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    7843277075252814651n,
  ],
  [
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"}, {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo" }',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  [
    '{"type":"enum", "name":"foo", "symbols":["A1"]}',
    '{"name":"foo","type":"enum","symbols":["A1"]}',
    -6342190197741309591n,
  ],
  [
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  ['{"name":"foo","type":"fixed","size":15}', '{"name":"foo","type":"fixed","size":15}', 1756455273707447556n],
  [
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    -3064184465700546786n,
  ],
  ['{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', -589620603366471059n],
  ['{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', -8732877298790414990n],
  [
    '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
];

test('CRC-64-AVRO of no bytes is EMPTY', () => {
  assert.equal(crc64Avro(new Uint8Array(0)), CRC64_AVRO_EMPTY);
  assert.equal(CRC64_AVRO_EMPTY, 0xc15d213aa4d7a795n);
});

test('canonical forms and fingerprints match the Avro specification test vectors', () => {
  for (const [input, canonical, fingerprint] of SPEC_VECTORS) {
    assert.equal(parsingCanonicalForm(input), canonical, input);
    if (fingerprint !== undefined) {
      assert.equal(BigInt.asIntN(64, schemaFingerprint(input)), fingerprint, input);
    }
  }
});

test('logical types, defaults and nested namespaces are canonicalised', () => {
  const schema = {
    type: 'record',
    name: 'R',
    namespace: 'a.b',
    fields: [
      { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' }, default: 0 },
      { name: 'e', type: { type: 'enum', name: 'E', symbols: ['X'], default: 'X' } },
      { name: 'again', type: 'E' },
      { name: 'other', type: { type: 'fixed', name: 'c.F', size: 2 } },
      { name: 'm', type: { type: 'map', values: ['null', 'a.b.E'] } },
    ],
  };
  assert.equal(
    parsingCanonicalForm(schema),
    '{"name":"a.b.R","type":"record","fields":[{"name":"ts","type":"long"},' +
      '{"name":"e","type":{"name":"a.b.E","type":"enum","symbols":["X"]}},{"name":"again","type":"a.b.E"},' +
      '{"name":"other","type":{"name":"c.F","type":"fixed","size":2}},' +
      '{"name":"m","type":{"type":"map","values":["null","a.b.E"]}}]}',
  );
});

test('every schema file has the canonical form and fingerprint fastavro computed', () => {
  const golden = JSON.parse(readFileSync(join(FIXTURES, 'fingerprints.json'), 'utf8')) as {
    schemas: Array<{ file: string; canonical: string; fingerprint: string }>;
  };
  assert.ok(golden.schemas.length >= 6);
  for (const { file, canonical, fingerprint } of golden.schemas) {
    const json = JSON.parse(readFileSync(join(defaultSchemaDir(), file), 'utf8'));
    assert.equal(parsingCanonicalForm(json), canonical, file);
    assert.equal(schemaFingerprint(json), BigInt(fingerprint), file);
  }
});

test("avsc's schema() agrees with our canonical form on every schema file (its toString() does not canonicalise)", async () => {
  const { loadSchemaSet } = await import('./schema-set.js');
  for (const v of loadSchemaSet().versions) {
    assert.equal(JSON.stringify(v.type.schema()), v.canonical, v.path);
    assert.equal(v.type.toString(), JSON.stringify(v.fullName), v.path);
  }
});
