/**
 * The webhook signature: HMAC-SHA256 with the webhook's secret over `timestamp + "." + body`,
 * sent as `X-Meterstream-Signature: sha256=<hex>` beside `X-Meterstream-Timestamp` (Unix
 * seconds). Signing the timestamp with the body lets a receiver refuse replays of an old
 * request; the same scheme as Stripe's and Slack's webhooks. docs/alerts.md shows a verifier.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-meterstream-signature';
export const TIMESTAMP_HEADER = 'x-meterstream-timestamp';
/** `<alertId>:<status>`: the same for every retry of one state change, to deduplicate on. */
export const DELIVERY_HEADER = 'x-meterstream-delivery';

/** `sha256=<hex>` of `timestamp.body`. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * True when `header` is the signature of `timestamp.body` and the timestamp is within
 * `toleranceSeconds` of `nowSeconds`.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  timestamp: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  if (header === undefined || timestamp === undefined || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, Number(timestamp), body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
