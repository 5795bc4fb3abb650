/**
 * What each kind of meter measures, normal behaviour plus the injected anomaly: a household's
 * hourly water use, a technical room's temperature, a customer's quarter-hourly electricity.
 * The numbers follow DOMAIN.md: a household has at least one zero-flow hour a day and a night
 * minimum well under 12.5 L/h; no normal hour reaches the 500 L/h burst threshold; rooms stay
 * between 10 and 20 °C and never cool fast enough to trip the frost trend warning.
 */
import { Calendar, DAY, HOUR } from './calendar.js';
import { draw, hashNoise, type Draw } from './random.js';
import type { ElectricityProfile, Injection, RoomProfile, WaterProfile } from './types.js';

/** Ceiling of one normal hour's water use (litres): far below the 500 L/h burst threshold, with room for a leak on top. */
export const WATER_MAX_NORMAL_LPH = 350;

/** Chance that someone uses water in a given local hour (0-23). Hours 0-4 see only toilet flushes. */
const USE_CHANCE = [
  0, 0, 0, 0, 0, 0.15, 0.6, 0.85, 0.7, 0.45, 0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.45, 0.6, 0.7, 0.75, 0.7, 0.6, 0.45,
  0.2,
];
/** Mean litres per person in an hour with use: showers in the morning, cooking and baths in the evening (about 170 L/person/day). */
const LITRES_PER_PERSON = [0, 0, 0, 0, 0, 8, 25, 35, 25, 15, 10, 10, 10, 10, 10, 10, 12, 18, 22, 22, 18, 20, 15, 8];
/** Local hours in which night flushes fall: the 02:00-05:00 minimum-night-flow window and around it. */
const NIGHT_HOURS = [0, 1, 2, 3, 4];

/**
 * A household's or flat's hourly water use, drawn hour by hour. Call `litres` with
 * increasing hour starts: the night's flushes are drawn once per night.
 */
export class WaterUse {
  private readonly d: Draw;
  private night = { day: Number.NaN, flushHours: [] as number[] };

  constructor(
    private readonly profile: WaterProfile,
    private readonly injection: Injection | null,
    private readonly calendar: Calendar,
    next: () => number,
  ) {
    this.d = draw(next);
  }

  /** Litres used in [hour, hour + 1 h). */
  litres(hour: number): number {
    const local = this.calendar.hour(hour);
    const away = this.profile.holiday !== null && hour >= this.profile.holiday.from && hour < this.profile.holiday.to;
    let litres = 0;
    if (local < 5) {
      const day = this.calendar.day(hour);
      if (day !== this.night.day) {
        // Most nights are dry; at most two flushes, so every night keeps zero-flow hours.
        const flushes = this.d.weighted([0, 1, 2], [0.55, 0.35, 0.1]);
        this.night = { day, flushHours: this.d.shuffle([...NIGHT_HOURS]).slice(0, flushes) };
      }
      if (!away && this.night.flushHours.includes(local)) litres = this.d.int(6, 9);
    } else if (this.d.chance(USE_CHANCE[local]) && !away) {
      litres = Math.min(
        WATER_MAX_NORMAL_LPH,
        Math.round(this.profile.persons * LITRES_PER_PERSON[local] * this.d.uniform(0.5, 1.5)),
      );
    }
    const inj = this.injection;
    if (inj?.type === 'NIGHT_FLOW' && hour >= inj.from) litres += inj.litresPerHour;
    if (inj?.type === 'BURST' && hour >= inj.from && hour < inj.from + inj.hours * HOUR) litres += inj.litresPerHour;
    return litres;
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;
/** Cosine ease from 0 to 1: a slow start and a slow finish. */
const ease = (p: number) => (1 - Math.cos(Math.PI * Math.min(1, Math.max(0, p)))) / 2;
const TEMP_NOISE_STEP = 10 * 60_000;

/** A normal room's temperature at `ts` (°C, unrounded), from its profile and noise addressed by time. */
function roomNormalC(p: RoomProfile, seed: number, ts: number): number {
  const slow = p.slowAmplitudeC * Math.sin((2 * Math.PI * ts) / (p.slowPeriodHours * HOUR) + p.slowPhase);
  const daily = p.dailyAmplitudeC * Math.sin((2 * Math.PI * ts) / DAY + p.dailyPhase);
  return p.meanC + slow + daily + 0.12 * hashNoise(seed, Math.floor(ts / TEMP_NOISE_STEP));
}

/**
 * A technical room's temperature at `ts`, rounded to 0.1 °C like a sensor. A pure function of
 * time, so the plan can find when a frost episode ends without generating the readings.
 * Frost: cools from normal to `coldC` over `coolMs`, holds (a degree of wobble), warms back to normal over `warmMs`.
 */
export function roomCelsius(profile: RoomProfile, seed: number, injection: Injection | null, ts: number): number {
  const normal = roomNormalC(profile, seed, ts);
  if (injection?.type !== 'FROST_RISK' || ts < injection.from) return round1(normal);
  const { from, coolMs, coldC, holdMs, warmMs } = injection;
  const cold = coldC + 0.1 * hashNoise(seed ^ 0x5bd1e995, Math.floor(ts / TEMP_NOISE_STEP));
  const t = ts - from;
  if (t < coolMs) return round1(normal + (cold - normal) * ease(t / coolMs));
  if (t < coolMs + holdMs) return round1(cold);
  if (t < coolMs + holdMs + warmMs) return round1(cold + (normal - cold) * ease((t - coolMs - holdMs) / warmMs));
  return round1(normal);
}

/** A bell around `centre` (local hour) with width `width` hours. */
const bell = (hourOfDay: number, centre: number, width: number) => Math.exp(-(((hourOfDay - centre) / width) ** 2));

/** kWh used in the quarter hour starting at `ts` (rounded to Wh), with ±15 % noise from `next`. */
export function electricityKwh(
  profile: ElectricityProfile,
  calendar: Calendar,
  ts: number,
  next: () => number,
): number {
  const h = calendar.hourOfDay(ts);
  const kw = profile.baseKw + profile.morningKw * bell(h, 7.5, 1.2) + profile.eveningKw * bell(h, 19, 2.2);
  return Math.round(kw * 0.25 * (0.85 + 0.3 * next()) * 1000) / 1000;
}
