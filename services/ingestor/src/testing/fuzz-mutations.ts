/**
 * The fuzzer's mutations of the readings topic, by name: each takes a valid base message and
 * returns the mutated message(s) with what must become of them. Field mutations change one
 * value (or one field's bytes); byte mutations damage the encoded message as a whole.
 */
import { MIN_TS } from '../transforms/validate-reading.js';
import * as avro from './avro-fields.js';
import type { Base, Expectation, FuzzTools, Mutation } from './fuzz-messages.js';

const DAY = 86_400_000;
/** C0 and C1 control characters, DEL, and the unit separator that joined the old group key. */
const CONTROLS = [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9f].map((c) => String.fromCharCode(c));
/** A stray 0xFF, a lone continuation byte, cut-off sequences, an overlong '/', a UTF-16 surrogate, a 5-byte form. */
const INVALID_UTF8 = [[0xff], [0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80]];

const dlq = (reason?: string): Expectation => ({ outcome: 'dlq', reason });
const either: Expectation = { outcome: 'either' };

export function mutations(t: FuzzTools): Record<string, Mutation> {
  const { r, options: o } = t;
  const ctl = () => r.pick(CONTROLS);
  const at = (s: string, c: string) => {
    const i = r.int(0, s.length);
    return s.slice(0, i) + c + s.slice(i);
  };
  const invalidUtf8 = (s: string) => {
    const bytes = Buffer.from(s);
    const i = r.int(0, bytes.length);
    return Buffer.concat([bytes.subarray(0, i), Buffer.from(r.pick(INVALID_UTF8)), bytes.subarray(i)]);
  };
  const long = (n: number) => 'x'.repeat(n);
  const interval = (b: Base) => b.header.readingType === 'INTERVAL';
  const temperature = (b: Base) => b.header.kind === 'TEMPERATURE';
  const register = (b: Base) => b.header.readingType === 'REGISTER';
  return {
    'meterId control character': (b) => t.set(b, 'meterId', at(b.header.meterId, ctl()), 'bad_meter_id'),
    'meterId with U+001F': (b) => t.set(b, 'meterId', at(b.header.meterId, '\u001f'), 'bad_meter_id'),
    'meterId empty': (b) => t.set(b, 'meterId', '', 'bad_meter_id'),
    'meterId 128 characters': (b) => t.set(b, 'meterId', b.header.meterId.padEnd(128, 'x'), 'clean'),
    'meterId too long': (b) => t.set(b, 'meterId', long(r.pick([129, 1000, 100_000])), 'bad_meter_id'),
    'meterId non-BMP': (b) => t.set(b, 'meterId', at(b.header.meterId, r.pick(['😀', '𝟘', '\u{10fffd}'])), 'clean'),
    'meterId U+FFFD': (b) => t.set(b, 'meterId', at(b.header.meterId, '\ufffd'), 'bad_meter_id'),
    'meterId invalid UTF-8': (b) =>
      t.patch(b, 'meterId', avro.string(invalidUtf8(b.header.meterId)), dlq('bad_meter_id')),
    'tenant control character': (b) => t.set(b, 'tenant', at(b.header.tenant, ctl()), 'bad_tenant'),
    'tenant empty or too long': (b) => t.set(b, 'tenant', r.pick(['', long(129)]), 'bad_tenant'),
    'tenant invalid UTF-8': (b) => t.patch(b, 'tenant', avro.string(invalidUtf8(b.header.tenant)), dlq('bad_tenant')),
    'zoneId control character': (b) => t.set(b, 'zoneId', at(b.header.zoneId ?? 'Z', ctl()), 'bad_zone'),
    'zoneId invalid UTF-8': (b) =>
      t.patch(
        b,
        'zoneId',
        Buffer.concat([avro.long(1), avro.string(invalidUtf8(b.header.zoneId ?? 'Z'))]),
        dlq('bad_zone'),
      ),
    'zoneId too long': (b) => t.set(b, 'zoneId', long(129), 'bad_zone'),
    'zoneId unusual but valid': (b) => t.set(b, 'zoneId', r.pick(['', '\\N', 'NULL', long(128), "o'hara"]), 'clean'),
    'priceArea invalid': (b) =>
      t.set(b, 'priceArea', r.pick(['no1', 'NO1\u001f', '\u0000', 'NO123', '']), 'bad_price_area'),
    'collision pair': (b) => {
      // Two headers the old separator-joined group key could not tell apart.
      const h = b.header;
      const sep = [h.kind, h.unit, h.readingType, h.intervalSeconds].join('\u001f');
      const a = { ...b, header: { ...h, meterId: `${h.meterId}\u001f${sep}\u001fZ1`, zoneId: 'Z2' } };
      const c = { ...b, header: { ...h, zoneId: `Z1\u001f${sep}\u001fZ2` }, readings: [t.reading(h.kind)] };
      return [t.message('meterId half', a, dlq('bad_meter_id')), t.message('zoneId half', c, dlq('bad_zone'))];
    },
    'null zone beside U+0000 zone': (b) => [
      t.set(b, 'zoneId', null, 'clean'),
      t.set({ ...b, readings: b.readings.map(() => t.reading(b.header.kind)) }, 'zoneId', '\u0000', 'bad_zone'),
    ],
    'intervalSeconds invalid': (b) =>
      t.set(
        b,
        'intervalSeconds',
        interval(b) ? r.pick([0, -900, 7, 86_401, 2 ** 31 - 1, -(2 ** 31)]) : 900,
        'bad_interval',
      ),
    'intervalSeconds beyond int32': (b) =>
      t.patch(b, 'intervalSeconds', avro.long(r.pick([2 ** 31, 2 ** 40, -(2 ** 40)])), dlq()),
    'intervalSeconds a whole day': (b) =>
      interval(b) ? t.set(b, 'intervalSeconds', 86_400, 'clean') : t.message('good', b, (x) => t.clean(x)),
    'enum index out of range': (b) => {
      const field = r.pick(['kind', 'unit', 'readingType', 'quality']);
      const max = avro.SYMBOLS[field as keyof typeof avro.SYMBOLS].length;
      return t.patch(b, field, avro.long(r.pick([max, max + 1, -1, 2 ** 40])), dlq('avro_decode'));
    },
    'union index out of range': (b) =>
      t.patch(
        b,
        r.pick(['zoneId', 'priceArea']),
        Buffer.concat([avro.long(r.pick([2, 3, -1, 1000])), avro.string('Z1')]),
        dlq('avro_decode'),
      ),
    'string length corrupt': (b) => {
      const field = r.pick(['meterId', 'tenant']);
      const text = Buffer.from(b.header[field as 'meterId' | 'tenant']);
      const len = r.pick([-1, -text.length, 2 ** 31, 2 ** 52]);
      return t.patch(b, field, Buffer.concat([avro.long(len), text]), dlq(), `${field} length ${len}`);
    },
    'ts before 2000': (b) =>
      t.setReading(b, { ts: r.pick([-1, 0, -o.now, MIN_TS - 1, 946_684_799_000 - DAY]) }, 'ts_too_old'),
    'ts at the oldest accepted': (b) => t.setReading(b, { ts: t.nextOldTs() }, 'clean'),
    'ts beyond the raw retention': (b) => {
      const newest = t.beyondRetentionTs();
      if (newest === null) return t.message('good', b, (x) => t.clean(x));
      return t.setReading(b, { ts: r.pick([newest, Math.max(MIN_TS, newest - 30 * DAY), MIN_TS]) }, 'beyond_retention');
    },
    'ts far ahead': (b) =>
      t.setReading(b, { ts: r.pick([o.now + o.maxFutureMs + DAY, o.now + 3650 * DAY, 2 ** 52]) }, 'ts_in_future'),
    'ts just ahead': (b) => t.setReading(b, { ts: t.nextFutureTs() }, 'clean'),
    // avsc refuses longs from ±(2^53 - 1) on (its isSafeLong stops at 2^53 - 2).
    'ts at or beyond 2^53 - 1': (b) =>
      t.patch(b, 'ts', avro.long(r.pick([2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n), 2n ** 62n])), dlq('avro_decode')),
    'value not finite': (b) => t.setReading(b, { value: r.pick([NaN, Infinity, -Infinity]) }, 'non_finite_value'),
    'value NaN payload': (b) => t.patch(b, 'value', Buffer.from('010000000000f07f', 'hex'), dlq('non_finite_value')),
    'value boundary': (b) =>
      temperature(b)
        ? t.setReading(b, { value: r.pick([-60, 100, -0]) }, 'clean')
        : t.setReading(b, { value: r.pick([-0, Number.MIN_VALUE, 1e300, Number.MAX_SAFE_INTEGER]) }, 'clean'),
    'value out of range': (b) =>
      temperature(b)
        ? t.setReading(b, { value: r.pick([-60.001, 100.5, 1e308]) }, 'value_out_of_range')
        : t.setReading(b, { value: r.pick([-1e-300, -1, -Number.MAX_VALUE]) }, 'negative_value'),
    'batch sizes': (b) => {
      const kind = r.pick(['empty', 'max', 'over']);
      const n = kind === 'empty' ? 0 : kind === 'max' ? o.maxBatchReadings : o.maxBatchReadings + 1;
      const changed = {
        ...b,
        single: false,
        readings: Array.from({ length: n }, () => t.reading(b.header.kind)),
      };
      const expect =
        kind === 'empty' ? dlq('empty_batch') : kind === 'max' ? (x: Base) => t.clean(x) : dlq('oversize_batch');
      return t.message(`${n} readings`, changed, expect);
    },
    'array blocks': (b) => {
      const batch = { ...b, single: false };
      const items = batch.readings.map(avro.batchReading);
      const blockSize = r.int(1, 3);
      const negative = r.chance(0.5);
      const fields = avro.replace(t.fields(batch), 'readings', avro.array(items, blockSize, negative));
      return t.message(
        `blocks of ${blockSize}${negative ? ', negative counts' : ''}`,
        batch,
        (x: Base) => t.clean(x),
        t.encode(batch, fields),
      );
    },
    'array count corrupt': (b) => {
      const batch = { ...b, single: false };
      const items = Buffer.concat(batch.readings.map(avro.batchReading));
      const count = r.pick([batch.readings.length + 1, 2 ** 31, -(2 ** 31), 2 ** 60, 1e6]);
      const bytes = r.chance(0.2)
        ? Buffer.concat([avro.long(count), items])
        : Buffer.concat([avro.long(count), items, avro.long(0)]);
      const fields = avro.replace(t.fields(batch), 'readings', bytes);
      return t.message(`readings count ${count}`, batch, dlq(), t.encode(batch, fields));
    },
    truncated: (b) => {
      const full = t.encode(b, t.fields(b));
      const at = r.int(0, full.length - 1);
      return t.message(`at ${at} of ${full.length}`, b, dlq(), full.subarray(0, at));
    },
    'trailing bytes': (b) => {
      const extra = Buffer.from(Array.from({ length: r.int(1, 16) }, () => r.int(0, 255)));
      return t.message(`+${extra.length}`, b, dlq('avro_decode'), Buffer.concat([t.encode(b, t.fields(b)), extra]));
    },
    'fingerprint flipped': (b) => {
      const bytes = Buffer.from(t.encode(b, t.fields(b)));
      bytes[r.int(2, 9)] ^= r.int(1, 255);
      const known = o.codec.schemas.bindingAt(bytes, 2) !== undefined;
      return t.message('fingerprint', b, known ? either : dlq('avro_unknown_schema'), bytes);
    },
    'magic flipped': (b) => {
      const bytes = Buffer.from(t.encode(b, t.fields(b)));
      bytes[r.int(0, 1)] ^= r.int(1, 255);
      return t.message(`magic ${bytes.toString('hex', 0, 2)}`, b, dlq('avro_magic'), bytes);
    },
    'Confluent framing without a registry': (b) => {
      const body = avro.frame(Buffer.alloc(0), t.fields(b));
      const header = Buffer.alloc(5);
      header.writeUInt32BE(r.int(0, 2 ** 31), 1);
      return t.message('schema id', b, dlq('avro_magic'), Buffer.concat([header, body]));
    },
    'bytes flipped': (b) => {
      const bytes = Buffer.from(t.encode(b, t.fields(b)));
      for (let k = r.int(1, 4); k > 0; k--) bytes[r.int(10, bytes.length - 1)] = r.int(0, 255);
      return t.message('body', b, either, bytes);
    },
    'byte inserted or deleted': (b) => {
      const full = t.encode(b, t.fields(b));
      const at = r.int(10, full.length - 1);
      const rest = r.chance(0.5)
        ? full.subarray(at + 1)
        : Buffer.concat([Buffer.from([r.int(0, 255)]), full.subarray(at)]);
      return t.message(`at ${at}`, b, either, Buffer.concat([full.subarray(0, at), rest]));
    },
    'random bytes': (b) => {
      const bytes = Buffer.from(Array.from({ length: r.int(0, 64) }, () => r.int(0, 255)));
      if (r.chance(0.5) && bytes.length >= 10) t.header('MeterReading').copy(bytes);
      return t.message(`${bytes.length} bytes`, b, either, bytes);
    },
    'older writer (v1)': (b) => {
      const v1 = { ...b, single: true, readings: b.readings.slice(0, 1) };
      const value = avro.frame(t.header('MeterReading', 1), avro.readingFields(t.single(v1), 1));
      const resolved = { ...v1, header: { ...v1.header, zoneId: null, priceArea: null } };
      return t.message('MeterReading v1', resolved, (x) => t.clean(x), value);
    },
    'older writer (v2, batch v1)': (b) => {
      const value = b.single
        ? avro.frame(t.header('MeterReading', 2), avro.readingFields(t.single(b), 2))
        : avro.frame(t.header('MeterReadingBatch', 1), avro.batchFields({ ...b.header, readings: b.readings }, 1));
      return t.message(b.single ? 'MeterReading v2' : 'MeterReadingBatch v1', b, (x) => t.clean(x), value);
    },
    'registerModulus stated': (b) => {
      const above = Math.floor(Math.max(...b.readings.map((x) => x.value))) + 1;
      const modulus = r.pick([above, 1000, 100_000, 2 ** 40, Number.MAX_SAFE_INTEGER - 1]);
      return t.set(b, 'registerModulus', modulus, register(b) ? 'clean' : 'bad_register_modulus');
    },
    'registerModulus invalid': (b) => {
      const atOrBelow = Math.floor(Math.max(...b.readings.map((x) => x.value)));
      return t.set(b, 'registerModulus', r.pick([0, -1, -(2 ** 40), atOrBelow]), 'bad_register_modulus');
    },
    'registerModulus beyond 2^53 - 1': (b) =>
      t.patch(b, 'registerModulus', Buffer.concat([avro.long(1), avro.long(2n ** 53n)]), dlq('avro_decode')),
    'wrong record': (b) => {
      const h = b.header;
      const invoice = {
        invoiceId: `inv-${h.meterId}`,
        tenant: h.tenant,
        meterId: h.meterId,
        kind: h.kind,
        periodStart: b.readings[0].ts,
        periodEnd: b.readings[0].ts + DAY,
        billedQuantity: 12.5,
        unit: h.unit,
        amount: null,
        currency: null,
        priceArea: h.priceArea,
      };
      const value = r.chance(0.7)
        ? o.codec.encodeSingleObject('Invoice', invoice)
        : o.codec.encodeSingleObject('CleanReadingBatch', {
            ...h,
            meter: 'ab'.repeat(16),
            registerModulus: null,
            readings: b.readings.map((x, i) => ({ ...x, offset: i, version: 0 })),
          });
      return t.message('Invoice or CleanReadingBatch', b, dlq('unexpected_record'), value);
    },
    tombstone: (b) => ({ ...t.message('null value', b, dlq('tombstone')), value: null }),
    'empty message': (b) => t.message('0 bytes', b, dlq('avro_magic'), Buffer.alloc(0)),
  };
}
