/**
 * Retention of the topics meterstream writes, owned by the project rather than left to the
 * broker default: the dead-letter topic holds records as received (raw meter IDs in keys,
 * values and headers), so it is kept short; the derived topics (and the notifier's dead
 * letters) hold pseudonyms only. Applied on
 * every start to topics that exist (a changed value takes effect then), like the table TTLs.
 * The head-end's own topics (`meter.readings.v1`, `meter.invoices.v1`) are not ours to change.
 */
import type { Admin } from 'kafkajs';
import type { MeterstreamConfig } from '../config.js';
import type { Logger } from '../telemetry/logger.js';

/** kafkajs `ConfigResourceTypes.TOPIC` (kafkajs is CommonJS: no named import of it from ESM). */
const TOPIC_RESOURCE = 2;

const DAY_MS = 86_400_000;
/** kafkajs `ConfigSource`: a setting made on the topic itself. */
const DYNAMIC_TOPIC_CONFIG = 1;

/** `retention.ms` of each topic meterstream writes, from the configuration. */
export function ownedTopicRetention(config: MeterstreamConfig): Map<string, number> {
  const { topics, topicRetention: days } = config;
  return new Map([
    [topics.clean, days.cleanDays * DAY_MS],
    [topics.hourly, days.hourlyDays * DAY_MS],
    [topics.alerts, days.alertsDays * DAY_MS],
    [topics.dlq, days.dlqDays * DAY_MS],
    // The notifier's dead letters: alerts (pseudonyms) whose delivery failed, kept as long as
    // the alerts themselves so that an operator can still replay them.
    [topics.alertsDlq, days.alertsDays * DAY_MS],
  ]);
}

/**
 * Sets `retention.ms` on each existing topic of `wanted` whose value differs, keeping the
 * topic's other dynamic configs (AlterConfigs replaces the whole set). Returns the topics changed.
 */
export async function applyTopicRetention(
  admin: Admin,
  wanted: Map<string, number>,
  logger: Logger,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const names = [...wanted.keys()].filter((t) => existing.has(t));
  if (names.length === 0) return [];
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: TOPIC_RESOURCE, name })),
  });
  const changed: string[] = [];
  for (const r of resources) {
    const ms = String(wanted.get(r.resourceName));
    const topicLevel = r.configEntries.filter((e) => e.configSource === DYNAMIC_TOPIC_CONFIG);
    if (topicLevel.find((e) => e.configName === 'retention.ms')?.configValue === ms) continue;
    // Only the topic's own settings go back; what it inherits from the broker stays inherited.
    const own = topicLevel
      .filter((e) => e.configName !== 'retention.ms')
      .map((e) => ({ name: e.configName, value: e.configValue }));
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC_RESOURCE,
          name: r.resourceName,
          configEntries: [...own, { name: 'retention.ms', value: ms }],
        },
      ],
    });
    changed.push(r.resourceName);
    logger.info({ topic: r.resourceName, retention_ms: Number(ms) }, 'topic retention set');
  }
  return changed;
}

/**
 * The effective `retention.ms` of each existing topic (set on the topic or inherited from the
 * broker), `null` for unlimited (-1). Topics that do not exist are left out.
 */
export async function readTopicRetention(admin: Admin, topics: readonly string[]): Promise<Map<string, number | null>> {
  const existing = new Set(await admin.listTopics());
  const names = topics.filter((t) => existing.has(t));
  const out = new Map<string, number | null>();
  if (names.length === 0) return out;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: ['retention.ms'] })),
  });
  for (const r of resources) {
    const ms = Number(r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? NaN);
    if (!Number.isNaN(ms)) out.set(r.resourceName, ms < 0 ? null : ms);
  }
  return out;
}
