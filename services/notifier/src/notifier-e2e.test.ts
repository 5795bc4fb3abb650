/**
 * End to end (issue 13, parts 1 and 2): alert state changes on a real broker → the notifier →
 * a real Alertmanager (read back through its API v2) and a local webhook receiver that fails,
 * times out and drops connections on purpose. Each state change reaches the receiver exactly
 * once after deduplication on `X-Meterstream-Delivery`, with a valid signature; a webhook that
 * always fails puts the delivery in the dead-letter topic with its reason; a restart with the
 * same records produced again sends nothing twice; a silence holds notifications and releases
 * what is still relevant when it ends; poison records on the alerts topic (a tombstone, garbage,
 * a record of another type, alerts of times no table stores) go to the DLQ with their reason
 * and the alert behind them is delivered.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AvroCodec,
  DLQ_HEADERS,
  createClickHouse,
  Access,
  createHttpServer,
  sha256Hex,
  createKafka,
  createRegistry,
  loadConfig,
  migrate,
  type Alert,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  randomSuffix,
  readAll,
  testEnv,
  testKafka,
  waitFor,
  waitForGroupCaughtUp,
} from '@meterstream/core/testing';
import { DELIVERY_DLQ_HEADERS } from './alerts.consumer.js';
import { registerSilenceRoutes } from './http/silences.route.js';
import { NotifierService } from './notifier.js';
import { startAlertmanager } from './testing/alertmanager.js';
import { startWebhookReceiver, type Behaviour } from './testing/webhook-receiver.js';

const hex = (n: number) => randomBytes(n).toString('hex');
const HOUR = 3_600_000;
const now = Date.now();

function alert(over: Partial<Alert>): Alert {
  return {
    alertId: hex(16),
    dedupKey: hex(16),
    type: 'NIGHT_FLOW',
    status: 'FIRING',
    severity: 'WARNING',
    tenant: 'oslo',
    meter: hex(16),
    zoneId: 'zone-01',
    startsAt: now - 2 * HOUR,
    endsAt: null,
    summary: 'Water ran all night',
    details: { minNightFlowLph: 20 },
    ...over,
  };
}
const resolved = (a: Alert): Alert => ({ ...a, alertId: hex(16), status: 'RESOLVED', endsAt: now - HOUR });
const deliveryId = (a: Alert) => `${a.alertId}:${a.status}`;

const secrets = { '/flaky': 'flaky-secret-0123456789', '/dead': 'dead-secret-0123456789' };
// The flaky receiver answers each delivery 500, then not at all, then drops the connection, then 200.
const FLAKY: Behaviour[] = ['fail', 'hang', 'drop', 'ok'];
const receiver = await startWebhookReceiver(secrets, (path, _id, n) =>
  path === '/dead' ? 'fail' : FLAKY[Math.min(n, FLAKY.length) - 1],
);
const am = await startAlertmanager();
const s = randomSuffix();
const ADMIN = `admin-${hex(12)}`;
const env = testEnv({
  METERSTREAM_ALERTMANAGER_URL: am.url,
  METERSTREAM_WEBHOOKS: JSON.stringify([
    { name: 'flaky', url: `${receiver.url}/flaky`, secret: secrets['/flaky'] },
    { name: 'dead', url: `${receiver.url}/dead`, secret: secrets['/dead'], types: ['BURST'] },
  ]),
  METERSTREAM_NOTIFIER_RETRIES: '4',
  METERSTREAM_NOTIFIER_BACKOFF_MS: '20',
  METERSTREAM_NOTIFIER_TIMEOUT_MS: '500',
  METERSTREAM_NOTIFIER_SWEEP_SECONDS: '1',
  METERSTREAM_NOTIFIER_GROUP_ID: `test-notifier-${s}`,
  METERSTREAM_TOPIC_ALERTS_DLQ: `test-alerts-dlq-${s}`,
  METERSTREAM_ADMIN_TOKEN: ADMIN,
});
const config = loadConfig(env);
const { logger } = capturingLogger();
const kafka = createKafka(config.kafka, config.kafka.brokers!, logger);
const admin = testKafka();
const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
await createTopic(admin, config.topics.alerts, 3);
const codec = new AvroCodec();
const registry = createRegistry('notifier');

let notifier = new NotifierService({ config, kafka, clickhouse, registry, logger });
const http = createHttpServer({
  registry,
  logger,
  readiness: {},
  access: new Access([{ name: 'admin-token', role: 'operator', tenants: null, sha256: sha256Hex(ADMIN) }]),
});
registerSilenceRoutes(http, { silences: notifier.silences, changed: () => void notifier.sweep() });
after(async () => {
  await notifier.close();
  await http.close();
  await clickhouse.close();
  await receiver.stop();
  await am.stop();
});
await notifier.start();

const publish = (alerts: Alert[]) =>
  produce(
    admin,
    config.topics.alerts,
    alerts.map((a) => ({ key: a.meter, value: codec.encodeSingleObject('Alert', a) })),
  );
const inAlertmanager = async (a: Alert) => (await am.alerts()).find((x) => x.annotations.dedup_key === a.dedupKey);
const flaky = () => receiver.delivered('/flaky');

const leak = alert({});
const burst = alert({ type: 'BURST', severity: 'CRITICAL', summary: 'Possible burst' });
const frost = alert({ type: 'FROST_RISK', tenant: 'bergen', zoneId: null, summary: 'Room cooling' });
const leakResolved = resolved(leak);

test('each state change reaches Alertmanager and, exactly once after dedup, the flaky webhook', async () => {
  await publish([leak, burst, frost]);
  const shown = await waitFor('the three alerts in Alertmanager', async () => {
    const all = await Promise.all([leak, burst, frost].map(inAlertmanager));
    return all.every(Boolean) ? all : null;
  });
  assert.deepEqual(shown[0]!.labels, {
    alertname: 'NIGHT_FLOW',
    severity: 'warning',
    tenant: 'oslo',
    zone: 'zone-01',
    pseudonym: leak.meter,
  });
  assert.equal(shown[0]!.status.state, 'active');
  assert.equal(shown[0]!.annotations.summary, 'Water ran all night');
  assert.equal(Date.parse(shown[0]!.startsAt), leak.startsAt);
  assert.equal(shown[2]!.labels.tenant, 'bergen');
  assert.equal(shown[2]!.labels.zone, undefined, 'an empty label is no label in Alertmanager');

  await publish([leakResolved]);
  await waitFor('the leak resolved in Alertmanager', async () => (await inAlertmanager(leak)) === undefined);

  const expected = [leak, burst, frost, leakResolved].map(deliveryId);
  await waitFor('four state changes at the flaky webhook', async () => flaky().size === 4);
  const got = flaky();
  assert.deepEqual([...got.keys()].sort(), expected.sort());
  for (const r of receiver.requests.filter((x) => x.path === '/flaky'))
    assert.ok(r.signatureValid, `signature of ${r.deliveryId}`);
  for (const id of got.keys()) {
    const tries = receiver.requests.filter((x) => x.path === '/flaky' && x.deliveryId === id);
    assert.deepEqual(
      tries.map((t) => t.answered),
      FLAKY,
      `${id}: failed, timed out, dropped, then delivered once`,
    );
  }
  const body = JSON.parse(got.get(deliveryId(leak))!.body) as { alert: { meter: string; status: string } };
  assert.equal(body.alert.meter, leak.meter);
  assert.equal(body.alert.status, 'FIRING');
});

test('after the retry budget, a delivery is in the dead-letter topic with its reason and sink', async () => {
  const dead = await waitFor('one dead letter', async () => {
    const r = await readAll(admin, config.topics.alertsDlq);
    return r.length >= 1 ? r : null;
  });
  assert.equal(dead.length, 1);
  const h = dead[0].headers;
  assert.equal(String(h[DLQ_HEADERS.reason]), 'retries_exhausted:http_500');
  assert.equal(String(h[DELIVERY_DLQ_HEADERS.sink]), 'webhook:dead');
  assert.equal(String(h[DELIVERY_DLQ_HEADERS.attempts]), '5');
  assert.equal(String(h[DLQ_HEADERS.topic]), config.topics.alerts);
  const decoded = codec.decode(dead[0].value!);
  assert.equal(decoded.schema === 'Alert' && decoded.value.alertId, burst.alertId);
  assert.equal(receiver.requests.filter((r) => r.path === '/dead').length, 5, 'the first attempt and 4 retries');
  const metrics = await registry.metrics();
  assert.match(metrics, /meterstream_notifier_deliveries_total\{[^}]*sink="webhook:dead",outcome="failed"[^}]*\} 1/);
  assert.match(metrics, /meterstream_notifier_deliveries_total\{[^}]*sink="webhook:flaky",outcome="retried"[^}]*\} 12/);
  assert.doesNotMatch(metrics, new RegExp(leak.meter), 'no pseudonym in a metric');
});

test('a restart that reads the same state changes again sends nothing twice', async () => {
  const before = receiver.requests.length;
  await notifier.close();
  notifier = new NotifierService({ config, kafka, clickhouse, registry: createRegistry('notifier'), logger });
  await notifier.start();
  // A producer retry or a replay puts the same records on the topic again.
  await publish([leak, burst, frost, leakResolved]);
  await waitForGroupCaughtUp(admin, config.notifier.groupId, config.topics.alerts);
  assert.equal(receiver.requests.length, before, 'no request for a state change delivered before');
  assert.equal((await readAll(admin, config.topics.alertsDlq)).length, 2, 'the dead letter of the burst, again');
});

test('a silence holds notifications while active and releases what is still relevant when it ends', async () => {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const created = await http.inject({
    method: 'POST',
    url: '/v1/silences',
    headers: auth,
    payload: {
      matchers: [
        { name: 'tenant', value: 'trondheim' },
        { name: 'zone', value: 'zone-0[1-3]', isRegex: true },
      ],
      endsAt: new Date(Date.now() + 24 * HOUR).toISOString(),
      createdBy: 'on-call',
      comment: 'pipe work in zones 1-3',
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  const silence = created.json() as { id: string; status: string };
  assert.equal(silence.status, 'active');

  // Still firing when the silence ends: released. Fired and resolved under the silence: nothing.
  const stillFiring = alert({ tenant: 'trondheim', zoneId: 'zone-02' });
  const cameAndWent = alert({ tenant: 'trondheim', zoneId: 'zone-03', type: 'BURST', severity: 'CRITICAL' });
  const outside = alert({ tenant: 'trondheim', zoneId: 'zone-09' });
  await publish([stillFiring, cameAndWent, resolved(cameAndWent), outside]);
  await waitFor('the unsilenced alert delivered', async () => flaky().has(deliveryId(outside)));
  await waitForGroupCaughtUp(admin, config.notifier.groupId, config.topics.alerts);
  const held = await clickhouse.query({
    query: `SELECT alert_id, state FROM ${config.clickhouse.database}.alert_holds FINAL`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(
    (await held.json<{ alert_id: string; state: string }>()).map((r) => r.state),
    ['held', 'held', 'held'],
  );
  const silenced = [stillFiring, cameAndWent].map(deliveryId);
  assert.ok(!receiver.requests.some((r) => silenced.includes(r.deliveryId)), 'nothing sent while silenced');
  assert.equal(await inAlertmanager(stillFiring), undefined);
  const listed = await http.inject({ method: 'GET', url: '/v1/silences?status=active', headers: auth });
  assert.deepEqual(
    (listed.json() as { silences: { id: string }[] }).silences.map((x) => x.id),
    [silence.id],
  );

  const expired = await http.inject({ method: 'DELETE', url: `/v1/silences/${silence.id}?by=on-call`, headers: auth });
  assert.equal(expired.statusCode, 200, expired.body);
  assert.equal((expired.json() as { status: string }).status, 'expired');
  await waitFor('the still firing alert released', async () => flaky().has(deliveryId(stillFiring)));
  await waitFor('it is in Alertmanager', () => inAlertmanager(stillFiring));
  const states = await waitFor('every hold settled', async () => {
    const rs = await clickhouse.query({
      query: `SELECT alert_id, status, state FROM ${config.clickhouse.database}.alert_holds FINAL ORDER BY source_offset`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ alert_id: string; status: string; state: string }>();
    return rows.every((r) => r.state !== 'held') ? rows : null;
  });
  // Offsets order changes within an episode only (one key, one partition): compare as a set.
  const settled = states.map((r) => `${r.alert_id}:${r.status} ${r.state}`).sort();
  const cameAndWentResolved = states.find((r) => r.alert_id !== stillFiring.alertId && r.status === 'RESOLVED')!;
  assert.deepEqual(
    settled,
    [
      `${deliveryId(stillFiring)} released`,
      `${deliveryId(cameAndWent)} dropped`,
      `${cameAndWentResolved.alert_id}:RESOLVED dropped`,
    ].sort(),
  );
  assert.ok(
    !receiver.requests.some((r) => r.deliveryId.startsWith(cameAndWent.alertId)),
    'the burst that came and went',
  );
  assert.equal(flaky().size, 6);

  const audit = await clickhouse.query({
    query: `SELECT actor, action FROM ${config.clickhouse.database}.alert_silence_audit WHERE silence_id = {id:String} ORDER BY at`,
    query_params: { id: silence.id },
    format: 'JSONEachRow',
  });
  assert.deepEqual(await audit.json(), [
    { actor: 'admin-token (on-call)', action: 'create' },
    { actor: 'admin-token (on-call)', action: 'expire' },
  ]);
});

test('poison records on the alerts topic: each in the DLQ with its reason, the alert behind them delivered', async () => {
  const good = alert({ tenant: 'tromso', summary: 'behind the poison' });
  // Year 2603: eleven digits of seconds, which ClickHouse refuses as a DateTime64.
  const year2603 = 2e13;
  // One key for all, the good alert's: one partition, so the alert is behind the poison.
  const key = good.meter;
  const poison = [
    { key, value: null },
    { key, value: Buffer.from('not avro at all') },
    {
      key,
      value: codec.encodeSingleObject('SpotPrice', { priceArea: 'SE3', hour: now, price: 0.1, currency: 'EUR' }),
    },
    // A time the tables cannot store: its insert (and toISOString past year 275760) would fail the batch forever.
    { key, value: codec.encodeSingleObject('Alert', alert({ startsAt: year2603 })) },
    { key, value: codec.encodeSingleObject('Alert', alert({ startsAt: 8.64e15 + 1 })) },
  ];
  await produce(admin, config.topics.alerts, [...poison, { key, value: codec.encodeSingleObject('Alert', good) }]);
  await waitFor('the alert behind the poison delivered', async () => flaky().has(deliveryId(good)), 60_000);
  await waitForGroupCaughtUp(admin, config.notifier.groupId, config.topics.alerts);
  const reasons = (await readAll(admin, config.topics.alertsDlq))
    .filter((r) => String(r.key) === key)
    .map((r) => String(r.headers[DLQ_HEADERS.reason]))
    .sort();
  assert.deepEqual(reasons, ['avro_magic', 'invalid_alert', 'invalid_alert', 'tombstone', 'unexpected_record']);
  assert.equal(await notifier.readiness().notifier(), true, 'the consumer runs');
});
