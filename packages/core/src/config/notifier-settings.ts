/**
 * The notifier's settings, declared once (merged into `SETTINGS`): where alerts go
 * (Alertmanager, signed webhooks), how deliveries are retried, and the dead-letter topic of
 * deliveries that exhausted their retries.
 */
import { ConfigError } from '../errors.js';
import { httpUrl, int, text, topic, type Parser } from './parse.js';
import { setting } from './setting.js';

const ALERT_TYPES = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];

/** One signed webhook of `METERSTREAM_WEBHOOKS`. */
export interface WebhookConfig {
  /** Name of the sink (metrics label `sink="webhook:<name>"`, delivery state, dead letters). */
  name: string;
  /** http(s) URL the alerts are POSTed to. */
  url: string;
  /** HMAC-SHA256 key of the signature (at least 16 characters). */
  secret: string;
  /** Tenants whose alerts it gets; `null`: every tenant. */
  tenants: readonly string[] | null;
  /** Alert types it gets; `null`: every type. */
  types: readonly string[] | null;
}

function stringList(value: unknown, name: string, what: string, allowed?: readonly string[]): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v === ''))
    throw new ConfigError(name, `${what} must be a non-empty array of strings`);
  const bad = allowed ? value.find((v) => !allowed.includes(v as string)) : undefined;
  if (bad !== undefined) throw new ConfigError(name, `${what}: unknown alert type ${JSON.stringify(bad)}`);
  return value as string[];
}

function urlOf(raw: string, name: string, at: string): string {
  try {
    return httpUrl().parse(raw, name);
  } catch (err) {
    throw new ConfigError(name, `${at}: ${(err as Error).message.replace(`${name}: `, '')}`);
  }
}

/** Parses `METERSTREAM_WEBHOOKS`: a JSON array of `{name, url, secret, tenants?, types?}`. */
export function webhookList(): Parser<readonly WebhookConfig[]> {
  return {
    allowed: 'JSON array of `{name, url, secret, tenants?, types?}`',
    parse(raw, name) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        throw new ConfigError(name, `not JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new ConfigError(name, 'expected a JSON array of webhooks');
      const names = new Set<string>();
      return parsed.map((w: unknown, i) => {
        const at = `webhook ${i}`;
        if (w === null || typeof w !== 'object' || Array.isArray(w))
          throw new ConfigError(name, `${at}: not an object`);
        const o = w as Record<string, unknown>;
        const unknown = Object.keys(o).find((k) => !['name', 'url', 'secret', 'tenants', 'types'].includes(k));
        if (unknown !== undefined) throw new ConfigError(name, `${at}: unknown key ${JSON.stringify(unknown)}`);
        if (typeof o.name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(o.name))
          throw new ConfigError(name, `${at}: name must be 1-64 letters, digits, dot, dash or underscore`);
        if (names.has(o.name)) throw new ConfigError(name, `${at}: duplicate name ${JSON.stringify(o.name)}`);
        names.add(o.name);
        if (typeof o.url !== 'string') throw new ConfigError(name, `${at} (${o.name}): url must be a string`);
        if (typeof o.secret !== 'string' || o.secret.length < 16)
          throw new ConfigError(name, `${at} (${o.name}): secret must be a string of at least 16 characters`);
        return Object.freeze({
          name: o.name,
          url: urlOf(o.url, name, `${at} (${o.name})`),
          secret: o.secret,
          tenants: stringList(o.tenants, name, `${at} (${o.name}) tenants`),
          types: stringList(o.types, name, `${at} (${o.name}) types`, ALERT_TYPES),
        });
      });
    },
    refused: '[{"name":"x","url":"ftp://example.com","secret":"0123456789abcdef"}]',
    other: (v) =>
      JSON.stringify([
        { name: `hook${(v?.length ?? 0) + 1}`, url: 'https://example.com/hook', secret: 's'.repeat(32) },
      ]),
  };
}

export const NOTIFIER_VARIABLES = {
  METERSTREAM_TOPIC_ALERTS_DLQ: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.alerts.dlq.v1',
    doc: "Dead-letter topic of alert deliveries that failed for good: the alert's bytes plus headers naming the sink and the reason.",
  }),
  METERSTREAM_NOTIFIER_GROUP_ID: setting({
    section: 'notifier',
    parser: text(),
    default: 'meterstream-notifier',
    doc: 'Consumer group of the notifiers (on the alerts topic).',
  }),
  METERSTREAM_ALERTMANAGER_URL: setting({
    section: 'notifier',
    parser: httpUrl(),
    default: null,
    shown: '(unset: no Alertmanager)',
    doc: 'Prometheus Alertmanager base URL (API v2: alerts are POSTed to `<url>/api/v2/alerts`).',
  }),
  METERSTREAM_WEBHOOKS: setting({
    section: 'notifier',
    parser: webhookList(),
    default: [],
    shown: '(none)',
    doc: 'Signed webhooks, e.g. `[{"name":"oslo-app","url":"https://…","secret":"…","tenants":["oslo"],"types":["BURST"]}]`; `tenants`/`types` omitted: all. Signature: docs/alerts.md.',
  }),
  METERSTREAM_NOTIFIER_RETRIES: setting({
    section: 'notifier',
    parser: int(0, 100),
    default: 5,
    doc: 'Retry budget of one delivery to one sink: retries after the first attempt (timeouts, connection errors, 408/429/5xx) before it goes to the dead-letter topic.',
  }),
  METERSTREAM_NOTIFIER_BACKOFF_MS: setting({
    section: 'notifier',
    parser: int(1, 600_000),
    default: 1000,
    doc: 'First pause between retries (ms); it doubles after each, up to 30 s or this value if larger.',
  }),
  METERSTREAM_NOTIFIER_TIMEOUT_MS: setting({
    section: 'notifier',
    parser: int(100, 120_000),
    default: 5000,
    doc: 'Timeout of one HTTP delivery attempt (ms).',
  }),
  METERSTREAM_NOTIFIER_SWEEP_SECONDS: setting({
    section: 'notifier',
    parser: int(1, 3600),
    default: 15,
    doc: 'How often the notifier reads the silences and releases notifications held by silences that ended.',
  }),
};
