// The anomaly benchmark's load, in its own process (a head-end is not part of meterstream):
// every 100 ms a tick of readings, half of them water meters' daily batches of hourly volumes,
// half pump-room temperatures (six 10-minute values per message); a few times a second a fresh
// room reports 1 °C. Prints one JSON line per trigger ({trigger, at}: the wall-clock time the
// broker acknowledged it) and a summary line at the end.
import { performance } from 'node:perf_hooks';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { AvroCodec } from '@meterstream/core';

const H = 3_600_000;
const spec = JSON.parse(process.env.BENCH_LOAD);
const topic = process.env.BENCH_TOPIC;
const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const codec = new AvroCodec();
const kafka = new Kafka({
  clientId: 'bench-load',
  brokers: process.env.KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();

const perTick = spec.readingsPerSecond / 10;
const startDay = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 30 * 86_400_000;
let water = 0,
  room = 0,
  waterReadings = 0,
  roomReadings = 0,
  triggers = 0,
  offered = 0;
const t0 = Date.now();
let next = t0;
for (let tick = 0; tick < spec.seconds * 10; tick++) {
  const messages = [];
  let n = 0;
  while (n < perTick) {
    if (waterReadings <= roomReadings) {
      const m = water++ % spec.waterMeters;
      const day = startDay + Math.floor((water - 1) / spec.waterMeters) * 86_400_000;
      const meterId = `WM${String(m).padStart(8, '0')}`;
      messages.push({
        key: meterId,
        value: codec.encodeSingleObject('MeterReadingBatch', {
          meterId,
          tenant: 'default',
          kind: 'WATER',
          unit: 'L',
          readingType: 'INTERVAL',
          intervalSeconds: 3600,
          zoneId: `zone-${m % 50}`,
          priceArea: null,
          readings: Array.from({ length: 24 }, (_, h) => ({
            ts: day + h * H,
            value: [7, 8, 19, 20].includes(h) ? 60 : h === 3 ? 0 : 5,
            quality: 'MEASURED',
          })),
        }),
      });
      n += 24;
      waterReadings += 24;
    } else {
      const r = room++ % spec.rooms;
      const meterId = `TS${String(r).padStart(8, '0')}`;
      // Each round of rooms reports the next hour of readings, ending before now.
      const round = Math.floor((room - 1) / spec.rooms);
      const at = startDay + 20 * 86_400_000 + round * H;
      messages.push({
        key: meterId,
        value: codec.encodeSingleObject('MeterReadingBatch', {
          meterId,
          tenant: 'default',
          kind: 'TEMPERATURE',
          unit: 'CELSIUS',
          readingType: 'INSTANT',
          intervalSeconds: 0,
          zoneId: `building-${r % 100}`,
          priceArea: null,
          readings: Array.from({ length: 6 }, (_, i) => ({
            ts: at + i * 600_000,
            value: 14 + (r % 5) + (i % 2) / 10,
            quality: 'MEASURED',
          })),
        }),
      });
      n += 6;
      roomReadings += 6;
    }
  }
  offered += n;
  const sends = [producer.send({ topic, messages })];
  if (tick % Math.round(10 / spec.triggersPerSecond) === 0) {
    const meterId = `TRIGGER${String(triggers++).padStart(6, '0')}`;
    const value = codec.encodeSingleObject('MeterReading', {
      meterId,
      tenant: 'default',
      kind: 'TEMPERATURE',
      unit: 'CELSIUS',
      readingType: 'INSTANT',
      ts: Date.now(),
      intervalSeconds: 0,
      value: 1,
      quality: 'MEASURED',
      zoneId: 'pump-rooms',
      priceArea: null,
    });
    sends.push(
      producer
        .send({ topic, messages: [{ key: meterId, value }] })
        .then(() => process.stdout.write(`${JSON.stringify({ trigger: meterId, at: wall() })}\n`)),
    );
    offered += 1;
  }
  await Promise.all(sends);
  next += 100;
  const wait = next - Date.now();
  if (wait > 0) await sleep(wait);
}
await producer.disconnect();
process.stdout.write(
  `${JSON.stringify({ done: true, offered, seconds: (Date.now() - t0) / 1000, triggers, waterReadings, roomReadings })}\n`,
);
