/**
 * Canonical units: every hourly row of a kind is stated in one unit, whatever units its meter
 * delivered (a smart water meter sending interval volumes in L and its register in m³ is one
 * series). Pure; the aggregator's roll-up applies it per reading, so `readings_raw` keeps what
 * the head-end sent and a correction in another unit still replaces the reading it corrects.
 *
 * | kind | delivered in | canonical |
 * | --- | --- | --- |
 * | WATER | L, M3 | L |
 * | ELECTRICITY_IMPORT, ELECTRICITY_EXPORT, HEAT | WH, KWH, MWH | KWH |
 * | GAS | M3 (volume) / WH, KWH, MWH (energy) | M3 / KWH: no calorific conversion is guessed |
 * | TEMPERATURE | CELSIUS | CELSIUS |
 */
import type { MeterKind, Unit } from './avro/records.js';

/** Factor from each unit to its dimension's canonical unit. */
const FACTOR: Readonly<Record<Unit, number>> = { WH: 0.001, KWH: 1, MWH: 1000, L: 1, M3: 1000, CELSIUS: 1 };

/** The unit hourly rows of `kind` are stated in, for readings delivered in `unit`. */
export function canonicalUnit(kind: MeterKind, unit: Unit): Unit {
  switch (kind) {
    case 'WATER':
      return 'L';
    case 'TEMPERATURE':
      return 'CELSIUS';
    case 'GAS':
      return unit === 'M3' ? 'M3' : 'KWH';
    default:
      return 'KWH';
  }
}

/** Factor that turns a value in `unit` into `canonicalUnit(kind, unit)`. */
export function canonicalFactor(kind: MeterKind, unit: Unit): number {
  // Gas in m³ stays m³ (the volume factor of M3 is for water's litres).
  return kind === 'GAS' && unit === 'M3' ? 1 : FACTOR[unit];
}

/** `value` (in `unit`) in the kind's canonical unit. */
export function toCanonical(kind: MeterKind, unit: Unit, value: number): number {
  const f = canonicalFactor(kind, unit);
  return f === 1 ? value : value * f;
}
