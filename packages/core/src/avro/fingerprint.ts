/**
 * Avro Parsing Canonical Form and the CRC-64-AVRO (Rabin) fingerprint, as the Avro
 * specification defines them:
 * https://avro.apache.org/docs/1.11.1/specification/#parsing-canonical-form-for-schemas
 * https://avro.apache.org/docs/1.11.1/specification/#schema-fingerprints
 *
 * Written from the schema JSON rather than taken from avsc: avsc 5.7.9 has no
 * CRC-64-AVRO (its `fingerprint()` is MD5/SHA over its own `schema()` output), and its
 * `schema()` is canonical only for the schemas it has already normalised. Fingerprints run
 * once per schema at load time, so BigInt arithmetic is fine here.
 */

/** The CRC-64-AVRO seed, `EMPTY` in the specification. */
export const CRC64_AVRO_EMPTY = 0xc15d213aa4d7a795n;

const MASK_64 = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = new Array(256);
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) {
      fp = (fp >> 1n) ^ (CRC64_AVRO_EMPTY & -(fp & 1n));
    }
    table[i] = fp & MASK_64;
  }
  return table;
})();

/** CRC-64-AVRO of raw bytes, as an unsigned 64-bit integer. */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = CRC64_AVRO_EMPTY;
  for (let i = 0; i < bytes.length; i++) {
    fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(bytes[i])) & 0xffn)];
  }
  return fp;
}

/** The 8 bytes of a fingerprint in the order single-object encoding puts them (little-endian). */
export function fingerprintBytes(fp: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(fp);
  return buf;
}

/** CRC-64-AVRO fingerprint of a schema (JSON text or parsed JSON): the hash of its canonical form. */
export function schemaFingerprint(schema: unknown): bigint {
  return crc64Avro(Buffer.from(parsingCanonicalForm(schema), 'utf8'));
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

/**
 * Parsing Canonical Form of a schema: [PRIMITIVES], [FULLNAMES], [STRIP], [ORDER], [STRINGS],
 * [INTEGERS], [WHITESPACE] of the specification. Accepts the schema as JSON text or as parsed JSON.
 */
export function parsingCanonicalForm(schema: unknown): string {
  const parsed = typeof schema === 'string' ? parseSchemaText(schema) : schema;
  return canonical(parsed, '', new Set<string>());
}

function parseSchemaText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A bare primitive name such as `int` without quotes is not JSON; the spec's tests use `"int"`.
    return text;
  }
}

function fullName(name: string, namespace: string): string {
  if (name.includes('.') || namespace === '') return name;
  return `${namespace}.${name}`;
}

function namespaceOf(fullname: string): string {
  const dot = fullname.lastIndexOf('.');
  return dot < 0 ? '' : fullname.slice(0, dot);
}

function canonical(schema: unknown, namespace: string, defined: Set<string>): string {
  if (typeof schema === 'string') {
    return JSON.stringify(PRIMITIVES.has(schema) ? schema : fullName(schema, namespace));
  }
  if (Array.isArray(schema)) {
    return `[${schema.map((branch) => canonical(branch, namespace, defined)).join(',')}]`;
  }
  if (schema === null || typeof schema !== 'object') {
    throw new TypeError(`not an Avro schema: ${JSON.stringify(schema)}`);
  }
  const obj = schema as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string') {
    // `{"type": {...}}` or `{"type": [...]}` wraps a schema; the wrapper carries nothing canonical.
    return canonical(type, namespace, defined);
  }
  if (PRIMITIVES.has(type)) return JSON.stringify(type);
  if (NAMED.has(type)) {
    if (typeof obj.name !== 'string') throw new TypeError(`${type} without a name`);
    const ns = typeof obj.namespace === 'string' ? obj.namespace : namespace;
    const name = fullName(obj.name, ns);
    if (defined.has(name)) return JSON.stringify(name);
    defined.add(name);
    const head = `{"name":${JSON.stringify(name)},"type":${JSON.stringify(type)}`;
    if (type === 'enum') {
      return `${head},"symbols":${JSON.stringify(obj.symbols)}}`;
    }
    if (type === 'fixed') {
      return `${head},"size":${JSON.stringify(obj.size)}}`;
    }
    const inner = namespaceOf(name);
    const fields = (obj.fields as Array<Record<string, unknown>>).map(
      (field) => `{"name":${JSON.stringify(field.name)},"type":${canonical(field.type, inner, defined)}}`,
    );
    return `${head},"fields":[${fields.join(',')}]}`;
  }
  if (type === 'array') {
    return `{"type":"array","items":${canonical(obj.items, namespace, defined)}}`;
  }
  if (type === 'map') {
    return `{"type":"map","values":${canonical(obj.values, namespace, defined)}}`;
  }
  // A reference to a named type written as `{"type": "Name"}`.
  return JSON.stringify(fullName(type, namespace));
}
