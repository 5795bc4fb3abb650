/**
 * Where each alert state change goes: held by a silence, or delivered to every sink that
 * wants it, at most once per (sink, alertId, status) thanks to the delivery state. Runs the
 * consumer's batches and the release sweep one at a time (they touch the same episodes).
 *
 * Per batch, episodes (`dedupKey`) are handled in parallel (a dead webhook retrying one episode
 * does not hold back the others for its whole budget, up to `EPISODES_AT_ONCE`), and the state
 * changes of one episode in topic order. While an episode has held changes, a later change that
 * a silence matches is held behind them; a later change that no silence matches releases the
 * episode's held changes first (`release-plan.ts`) and then goes out itself, so a RESOLVED
 * never reaches a sink before the FIRING it resolves.
 */
import type { Alert, Logger } from '@meterstream/core';
import type { NotifierMetrics } from './notifier-metrics.js';
import type { AlertSink } from './sinks/sink.js';
import { DeliveriesStore, deliveryKey, type DeliveryRow } from './state/deliveries.store.js';
import type { Held, HoldsStore } from './state/holds.store.js';
import type { SilencesStore } from './state/silences.store.js';
import { deliver, type RetryPolicy } from './transforms/deliver.js';
import { silencing, type Silence } from './transforms/match-silences.js';
import { releasePlan } from './transforms/release-plan.js';

const EPISODES_AT_ONCE = 16;

/** An alert state change and where it was read. */
export interface Incoming {
  alert: Alert;
  partition: number;
  offset: number;
}

/** A delivery that failed for good: it goes to the dead-letter topic. */
export interface FailedDelivery {
  incoming: Incoming;
  sink: string;
  reason: string;
  detail: string;
  attempts: number;
}

export interface DispatcherDeps {
  sinks: readonly AlertSink[];
  deliveries: DeliveriesStore;
  holds: HoldsStore;
  silences: SilencesStore;
  policy: RetryPolicy;
  metrics: NotifierMetrics;
  logger: Logger;
  signal: AbortSignal;
  now?: () => number;
}

export class Dispatcher {
  readonly #d: DispatcherDeps;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Holds or delivers each change (in order per episode); returns the deliveries that failed for good. */
  dispatch(items: readonly Incoming[], beat?: () => Promise<void>): Promise<FailedDelivery[]> {
    return this.#exclusive(async () => {
      const d = this.#d;
      const now = (d.now ?? Date.now)();
      const silences = await d.silences.list(now);
      const ids = items.map((i) => i.alert.alertId);
      const [finished, holdStates] = await Promise.all([d.deliveries.finished(ids), d.holds.states(ids)]);
      const episodes = new Map<string, Incoming[]>();
      for (const i of items) {
        const list = episodes.get(i.alert.dedupKey) ?? [];
        list.push(i);
        episodes.set(i.alert.dedupKey, list);
      }
      const pending = await d.holds.pending([...episodes.keys()]);
      const failed: FailedDelivery[] = [];
      const queue = [...episodes.values()];
      const worker = async (): Promise<void> => {
        for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
          const key = group[0].alert.dedupKey;
          let held = pending.filter((h) => h.alert.dedupKey === key);
          for (const item of group) {
            const a = item.alert;
            const state = holdStates.get(`${a.alertId}:${a.status}`);
            if (state !== undefined) continue; // held before (still held, or settled by a release)
            const silence = silencing(a, silences, now);
            if (silence !== null || held.length > 0) {
              const h: Held = {
                alert: a,
                alertId: a.alertId,
                status: a.status,
                sourcePartition: item.partition,
                sourceOffset: item.offset,
                silenceId: silence?.id ?? held[held.length - 1].silenceId,
                heldAt: now,
              };
              if (silence === null) {
                // Its episode was held, but nothing silences it now: release the episode, then send.
                failed.push(...(await this.#release(held)));
                held = [];
              } else {
                await d.holds.put([h], 'held');
                d.metrics.holds.inc({ action: 'held' });
                held.push(h);
                continue;
              }
            }
            failed.push(...(await this.#deliverAll(item, finished, beat)));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(EPISODES_AT_ONCE, queue.length) }, worker));
      return failed;
    });
  }

  /**
   * Releases the held changes of episodes no active silence matches any more (the sweep).
   * Returns the deliveries that failed for good.
   */
  sweep(): Promise<FailedDelivery[]> {
    return this.#exclusive(async () => {
      const d = this.#d;
      const now = (d.now ?? Date.now)();
      const [silences, pending] = await Promise.all([d.silences.list(now), d.holds.pending()]);
      const episodes = new Map<string, Held[]>();
      for (const h of pending) episodes.set(h.alert.dedupKey, [...(episodes.get(h.alert.dedupKey) ?? []), h]);
      const failed: FailedDelivery[] = [];
      for (const held of episodes.values()) {
        const latest = held.reduce((a, b) => (b.sourceOffset > a.sourceOffset ? b : a));
        if (isSilenced(latest.alert, silences, now)) continue;
        failed.push(...(await this.#release(held)));
      }
      return failed;
    });
  }

  /** Sends what the end of the silences releases from one episode's held changes; settles them all. */
  async #release(held: Held[]): Promise<FailedDelivery[]> {
    const d = this.#d;
    const key = held[0].alert.dedupKey;
    const fired = (await d.deliveries.firingDelivered([key])).has(key);
    const plan = releasePlan(held, fired);
    const failed: FailedDelivery[] = [];
    const finished = await d.deliveries.finished(plan.release.map((h) => h.alertId));
    for (const h of plan.release) {
      failed.push(
        ...(await this.#deliverAll({ alert: h.alert, partition: h.sourcePartition, offset: h.sourceOffset }, finished)),
      );
    }
    await d.holds.put(plan.release, 'released');
    await d.holds.put(plan.drop, 'dropped');
    d.metrics.holds.inc({ action: 'released' }, plan.release.length);
    d.metrics.holds.inc({ action: 'dropped' }, plan.drop.length);
    d.logger.info(
      { dedup_key: key, released: plan.release.length, dropped: plan.drop.length },
      'silence over: held notifications settled',
    );
    return failed;
  }

  /** Delivers one change to every sink that wants it and has not finished it; records the outcomes. */
  async #deliverAll(
    item: Incoming,
    finished: Map<string, { outcome: string; reason: string }>,
    beat?: () => Promise<void>,
  ): Promise<FailedDelivery[]> {
    const d = this.#d;
    const a = item.alert;
    const failed: FailedDelivery[] = [];
    const rows: DeliveryRow[] = [];
    await Promise.all(
      d.sinks
        .filter((s) => s.wants(a))
        .map(async (sink) => {
          const done = finished.get(deliveryKey(sink.name, a.alertId, a.status));
          if (done !== undefined) {
            d.metrics.deliveries.inc({ sink: sink.name, outcome: 'duplicate' });
            // Dead-lettered before, but that batch's transaction did not commit: dead-letter it again.
            if (done.outcome === 'dead_lettered')
              failed.push({
                incoming: item,
                sink: sink.name,
                reason: done.reason,
                detail: 'dead-lettered before',
                attempts: 0,
              });
            return;
          }
          const r = await deliver(sink, a, d.policy, { metrics: d.metrics, logger: d.logger, signal: d.signal, beat });
          rows.push({
            sink: sink.name,
            alert: a,
            outcome: r.outcome,
            reason: r.outcome === 'delivered' ? '' : r.reason,
            attempts: r.attempts,
          });
          if (r.outcome === 'dead_lettered')
            failed.push({ incoming: item, sink: sink.name, reason: r.reason, detail: r.detail, attempts: r.attempts });
        }),
    );
    await d.deliveries.record(rows);
    for (const r of rows)
      finished.set(deliveryKey(r.sink, a.alertId, a.status), { outcome: r.outcome, reason: r.reason });
    return failed;
  }
}

function isSilenced(a: Alert, silences: readonly Silence[], now: number): boolean {
  return silencing(a, silences, now) !== null;
}
