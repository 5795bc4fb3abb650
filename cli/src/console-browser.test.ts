/**
 * The console in a real browser: Debian's chromium (/usr/bin/chromium), driven headless by
 * playwright-core, against `meterstream all` in this process (the real services, the test
 * broker, embedded ClickHouse) fed a labelled fleet from @meterstream/simulator. A person signs
 * in through the demo's link, filters the alerts to NIGHT_FLOW, opens a leak and sees its night
 * flow drawn with the night windows shaded; districts, a meter's hours and the admin's CSV export
 * work; a wrong token sees nothing. Screenshots go under the OS temp dir (printed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroCodec, loadConfig, pseudonymOf, type Alert } from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  testEnv,
  testKafka,
  testSeed,
  waitFor,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { deliveries, planFleet } from '@meterstream/simulator';
import { chromium, type Browser, type Page } from 'playwright-core';
import { demoRates } from './demo-fleet.js';
import { ALL_SERVICES, startServices, type RunningServices } from './services.js';

const CHROMIUM = '/usr/bin/chromium';
// Flags known to work headless in this project's sandboxed machines; playwright adds --headless
// and a fresh profile directory of its own.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const API_TOKEN = 'console-read-token-5f1c2a9e7b';
const ADMIN_TOKEN = 'console-admin-token-83d0c4e6a1';
const H = 3_600_000;
const out = mkdtempSync(join(tmpdir(), 'meterstream-console-'));

let services: RunningServices;
let base: string;
let browser: Browser;
/** An alert as the API answers it: times in ISO 8601. */
type ApiAlert = Omit<Alert, 'startsAt' | 'endsAt'> & { startsAt: string; endsAt: string | null };
let leak: ApiAlert;
/** The water district with an inflow meter, and that meter (a raw ID, as the configuration names it). */
let district: string;
/** A district's line of `GET /v1/balances`. */
interface BalanceSummary {
  zoneId: string;
  inflowL: number;
  balanceL: number;
  completeHours: number;
}
const INFLOW = 'BULK-INFLOW-0001';
let logs: string[] = [];
/** The readings topic and a producer's client, for the live test's own readings. */
let readingsTopic: string;
let kafka: ReturnType<typeof testKafka>;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test installs Debian's chromium (apt-get)`);
  const seed = testSeed((m) => process.stdout.write(`# ${m}\n`));
  const meters = 30;
  const end = Math.floor(Date.now() / H) * H - H;
  const plan = planFleet({ seed, meters, days: 14, end, granularity: 'day', rates: demoRates(meters) });
  assert.ok(
    plan.labels.some((l) => l.type === 'NIGHT_FLOW'),
    'the fleet has a leak',
  );
  // One water district gets an inflow (bulk) meter: 5 m³/h in, every hour of the fleet's span.
  district = plan.meters.find((m) => m.kind === 'WATER' && m.zoneId !== null)!.zoneId!;
  const env = testEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    METERSTREAM_API_TOKEN: API_TOKEN,
    METERSTREAM_ADMIN_TOKEN: ADMIN_TOKEN,
    METERSTREAM_ZONE_INFLOWS: JSON.stringify({ default: { [district]: [INFLOW] } }),
  });
  const config = loadConfig(env);
  kafka = testKafka();
  readingsTopic = config.topics.readings;
  await createTopic(kafka, config.topics.readings, 1);
  await createTopic(kafka, config.topics.invoices, 1);
  const { logger, lines } = capturingLogger();
  logs = lines;
  services = await startServices(ALL_SERVICES, config, { logger });
  base = `http://127.0.0.1:${services.port}`;

  const codec = new AvroCodec();
  const readings: { key: string; value: Buffer }[] = [];
  const invoices: { key: string; value: Buffer }[] = [];
  for (const d of deliveries(plan))
    (d.topic === 'readings' ? readings : invoices).push({
      key: d.key,
      value: codec.encodeSingleObject(d.schema, d.value as never),
    });
  for (let day = plan.start; day < end; day += 24 * H) {
    const hours = Array.from({ length: Math.min(24, (end - day) / H) }, (_, i) => day + i * H);
    readings.push({
      key: INFLOW,
      value: codec.encodeSingleObject('MeterReadingBatch', {
        meterId: INFLOW,
        tenant: 'default',
        kind: 'WATER',
        unit: 'L',
        readingType: 'INTERVAL',
        intervalSeconds: 3600,
        zoneId: null,
        priceArea: null,
        registerModulus: null,
        readings: hours.map((ts) => ({ ts, value: 5000, quality: 'MEASURED' as const })),
      }),
    });
  }
  await produce(kafka, config.topics.readings, readings);
  await produce(kafka, config.topics.invoices, invoices);

  // Through the API, as any client: the leak the console must then show.
  leak = await waitFor(
    'a NIGHT_FLOW alert (night variant) in /v1/alerts',
    async () => {
      const res = await fetch(`${base}/v1/alerts?type=NIGHT_FLOW`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      const { alerts } = (await res.json()) as { alerts: ApiAlert[] };
      return alerts.find((a) => a.details.thresholdLph !== undefined);
    },
    300_000,
    1_000,
  ).catch((err: Error) => {
    // What the services said is the first thing to read when no alert comes.
    throw new Error(`${err.message}\nlast service log lines:\n${logs.slice(-15).join('')}`);
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});

after(async () => {
  await browser?.close();
  await services?.stop();
});

/** A page whose script errors and refused requests (CSP) are collected. */
async function openPage(viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  return { page, problems };
}

/** Waits for `selector`; a timeout says what the page showed and what went wrong in it. */
async function shown(page: Page, selector: string, problems: string[] = []): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout: 60_000 });
  } catch (err) {
    const text = await page.textContent('main').catch(() => '(no main)');
    throw new Error(`${(err as Error).message}\npage: ${text}\nproblems: ${problems.join('; ')}`);
  }
}

test('signed in by the demo link: alerts filtered to NIGHT_FLOW, a leak opened, its night flow drawn with the night windows', async (t) => {
  const { page, problems } = await openPage();
  const response = await page.goto(`${base}/console/#token=${API_TOKEN}`);
  assert.match(response!.headers()['content-security-policy'], /script-src 'self'/);
  await shown(page, 'table#alerts tbody tr', problems);
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  assert.ok(!page.url().includes(API_TOKEN));

  await page.selectOption('#f-type', 'NIGHT_FLOW');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/type=NIGHT_FLOW/);
  await shown(page, 'table#alerts tbody tr', problems);
  const types = await page.$$eval('table#alerts tbody tr', (rows) => rows.map((r) => r.getAttribute('data-type')));
  assert.ok(types.length > 0 && types.every((x) => x === 'NIGHT_FLOW'), `only NIGHT_FLOW rows: ${types.join(', ')}`);

  await page.click(`a[href="/console/meters/${leak.meter}/alerts/${leak.dedupKey}"]`);
  await shown(page, 'figure.evidence[data-points] .chart canvas', problems);
  const figure = await page.$eval('figure.evidence', (f) => ({
    points: Number(f.getAttribute('data-points')),
    from: Date.parse(f.getAttribute('data-from')!),
    to: Date.parse(f.getAttribute('data-to')!),
    bands: JSON.parse(f.getAttribute('data-bands')!) as [string, string][],
    rows: f.querySelectorAll('table.chart-data tbody tr').length,
  }));
  const startsAt = Date.parse(leak.startsAt);
  t.diagnostic(
    `alert ${leak.summary}: ${figure.points} hours plotted, ${figure.bands.length} night windows, ${new Date(figure.from).toISOString()} .. ${new Date(figure.to).toISOString()}`,
  );
  // The hours around the nights that fired it: the leaky nights before, a day after.
  const nights = leak.details.nights;
  assert.ok(figure.from <= startsAt - nights * 24 * H && figure.to >= startsAt, 'the window holds the leaky nights');
  assert.ok(figure.points >= nights * 24, `${figure.points} hours plotted`);
  assert.equal(figure.rows, figure.points, 'the accessible table lists every plotted hour');
  const bands = figure.bands.map(([f, e]) => [Date.parse(f), Date.parse(e)]);
  assert.ok(bands.length >= nights, `${bands.length} night windows shaded`);
  for (const [f, e] of bands) assert.ok(f >= figure.from - H && e <= figure.to + H && e - f >= 2 * H && e - f <= 4 * H);
  // The alert fires at the end of the night that confirmed the leak: a shaded window ends there.
  assert.ok(
    bands.some(([, e]) => e === startsAt),
    `a night window ends at ${leak.startsAt}: ${JSON.stringify(figure.bands)}`,
  );
  // uPlot drew the flow line (its colour) and the threshold line on the canvas.
  const drawn = await page.$eval('.chart canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let flow = 0;
    let level = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - 0x1f) < 24 && Math.abs(data[i + 1] - 0x5f) < 24 && Math.abs(data[i + 2] - 0xa8) < 24)
        flow++;
      if (Math.abs(data[i] - 0xb3) < 24 && data[i + 1] < 0x50 && data[i + 2] < 0x50) level++;
    }
    return { flow, level };
  });
  assert.ok(drawn.flow > 100 && drawn.level > 50, `pixels of the flow and threshold lines: ${JSON.stringify(drawn)}`);
  assert.match((await page.textContent('aside.lifecycle'))!, /Fired/);

  const shot = join(out, 'alert-night-flow.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);

  // On a phone the page folds to one column: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  // (The chart follows its box's new width through a ResizeObserver: waited for, with a deadline.)
  await page
    .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 10_000 })
    .catch(async () => {
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(-5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`),
      );
      assert.fail(`wider than a phone screen: ${wide.join(', ')}`);
    });
  await page.screenshot({ path: join(out, 'alert-night-flow-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // Districts: the leak's zone counts it.
  await page.goto(`${base}/console/districts`);
  await shown(page, 'table#zones tbody tr', problems);
  if (leak.zoneId !== null && leak.status === 'FIRING') {
    const zones = await page.$$eval('table#zones tbody th', (ths) => ths.map((th) => th.textContent));
    assert.ok(zones.includes(leak.zoneId), `${leak.zoneId} listed`);
  }
  // The water balance of the district with an inflow meter: the API's sums, in m³, and its page.
  // (Waited for: the inflow meter's hours are rolled up alongside the fleet's.)
  const summary = await waitFor('the district balance over 6 days', async () => {
    const res = await fetch(`${base}/v1/balances`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    const [z] = ((await res.json()) as { zones: BalanceSummary[] }).zones;
    return z !== undefined && z.completeHours >= 6 * 24 && z;
  });
  assert.equal(summary.zoneId, district);
  assert.equal(summary.inflowL, summary.completeHours * 5000, JSON.stringify(summary));
  // The page's cells against the very answer the page got (the fleet may still be rolling up).
  const [answer] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/balances'),
    page.goto(`${base}/console/districts`),
  ]);
  const [shownZone] = ((await answer.json()) as { zones: BalanceSummary[] }).zones;
  await shown(page, `table#balances tbody tr[data-zone="${district}"]`, problems);
  const cells = await page.$$eval(`table#balances tbody tr[data-zone="${district}"] td`, (tds) =>
    tds.map((td) => td.textContent),
  );
  const m3 = (litres: number) => (litres / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 });
  assert.deepEqual(
    [cells[0], cells[2]],
    [m3(shownZone.inflowL), m3(shownZone.balanceL)],
    'inflow and loss as the API sums them',
  );
  await page.click(`table#balances a[href^="/console/districts/${district}"]`);
  await shown(page, 'figure.evidence[data-points] .chart canvas', problems);
  const plotted = Number(await page.getAttribute('figure.evidence', 'data-points'));
  assert.ok(plotted >= 6 * 24, `${plotted} hours of the district's balance drawn`);
  await page.screenshot({ path: join(out, 'district-balance.png'), fullPage: true });
  // The bulk meter flows day and night by design: never a household alert.
  const inflow = pseudonymOf(Buffer.from(TEST_KEY_HEX, 'hex'), 'default', INFLOW);
  const all = await fetch(`${base}/v1/alerts?meter=${inflow}&limit=1000`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  assert.deepEqual(((await all.json()) as { alerts: unknown[] }).alerts, [], 'no alert for the inflow meter');

  // The meter's hours, as a chart and a table, and the admin's CSV export.
  const day = (ts: number) => new Date(ts).toISOString().slice(0, 10);
  const [from, to] = [day(startsAt - 5 * 24 * H), day(startsAt + 24 * H)];
  await page.goto(`${base}/console/meters/${leak.meter}?kind=WATER&from=${from}&to=${to}`);
  await shown(page, 'figure.evidence[data-points] .chart canvas', problems);
  const hours = Number(await page.getAttribute('figure.evidence', 'data-points'));
  // Every hour the API holds in the range is drawn (the range may start before the fleet's
  // history, and the simulated meters miss hours): at least the leaky nights' days.
  const stored = await fetch(
    `${base}/v1/meters/${leak.meter}/hourly?kind=WATER&from=${from}T00:00:00Z&to=${to}T00:00:00Z&limit=10000`,
    { headers: { authorization: `Bearer ${API_TOKEN}` } },
  );
  const { rows: apiRows } = (await stored.json()) as { rows: unknown[] };
  assert.equal(hours, apiRows.length, `${hours} hours drawn of the ${apiRows.length} the API holds`);
  assert.ok(hours >= nights * 24, `${hours} hours of the meter`);
  assert.equal(await page.$$eval('table.chart-data tbody tr', (r) => r.length), hours);
  await page.fill('#admin-token', ADMIN_TOKEN);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('form.export button')]);
  const csv = readFileSync((await download.path())!, 'utf8');
  assert.match(csv, /^table,row,column,type,value\r\n/);
  assert.ok(csv.includes('readings_hourly'), 'the export holds the hourly rows');

  assert.deepEqual(problems, [], 'no script error and nothing refused by the Content-Security-Policy');
  await page.context().close();
});

test('a wrong token sees nothing: no alert rendered, an error shown, the sign-in form again', async () => {
  const { page } = await openPage();
  await page.goto(`${base}/console/`);
  await page.fill('#token', 'not-the-token-0000000000');
  await page.click('form.sign-in button[type=submit]');
  const error = await page.waitForSelector('[role=alert]#error');
  assert.match((await error.textContent())!, /refused \(401/);
  assert.equal(await page.$$eval('table#alerts', (t) => t.length), 0, 'no alerts table');
  assert.ok(!(await page.content()).includes(leak.summary), 'no alert summary anywhere');
  assert.ok(await page.isVisible('form.sign-in #token'), 'asked to sign in again');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the refused token is forgotten');
  await page.context().close();
});

test('the alerts page updates live: a frost alert published while it is open appears without a reload', async (t) => {
  const { page, problems } = await openPage();
  await page.goto(`${base}/console/?type=FROST_RISK#token=${API_TOKEN}`);
  await page.waitForSelector('p.status');
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  // A pump room of its own: 12 °C, then cooling by 1.3 °C an hour to 1.5 °C, readings every 10 minutes.
  const ROOM = 'TS-LIVE-ROOM-0001';
  const room = pseudonymOf(Buffer.from(TEST_KEY_HEX, 'hex'), 'default', ROOM);
  const to = Math.floor(Date.now() / 600_000) * 600_000 - 600_000;
  const readings = [];
  for (let ts = to - 16 * H; ts <= to; ts += 600_000) {
    const hrs = (ts - (to - 16 * H)) / H;
    const celsius = hrs < 4 ? 12 : Math.max(1.5, 12 - (hrs - 4) * 1.3);
    readings.push({ ts, value: Math.round(celsius * 10) / 10, quality: 'MEASURED' as const });
  }
  const codec = new AvroCodec();
  await produce(kafka, readingsTopic, [
    {
      key: ROOM,
      value: codec.encodeSingleObject('MeterReadingBatch', {
        meterId: ROOM,
        tenant: 'default',
        kind: 'TEMPERATURE',
        unit: 'CELSIUS',
        readingType: 'INSTANT',
        intervalSeconds: 0,
        zoneId: 'building-live',
        priceArea: null,
        registerModulus: null,
        readings,
      }),
    },
  ]);
  const produced = Date.now();
  await waitFor('the frost alert in /v1/alerts', async () => {
    const res = await fetch(`${base}/v1/alerts?type=FROST_RISK&meter=${room}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    return ((await res.json()) as { alerts: unknown[] }).alerts.length > 0;
  });
  const inApi = Date.now();
  // The page polls: the row comes without a reload (the page's own state survives).
  await page.waitForSelector(`table#alerts a[href="/console/meters/${room}"]`, { timeout: 60_000 });
  const onPage = Date.now();
  assert.equal(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed), true, 'not reloaded');
  t.diagnostic(
    `frost alert: in the API ${inApi - produced} ms after producing, on the open page ${onPage - inApi} ms later`,
  );
  assert.deepEqual(problems, []);
  await page.context().close();
});
