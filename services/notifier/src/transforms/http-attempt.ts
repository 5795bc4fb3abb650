/**
 * One HTTP POST with a timeout, classified as an {@link Attempt}: 2xx delivered; 408, 429 and
 * 5xx, timeouts and connection errors retriable; any other 4xx final (the receiver refuses the
 * request as it is, and sending it again changes nothing).
 */
import type { Attempt } from '../sinks/sink.js';

export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    // The body is read so the connection can be reused; its text is not kept (it could be large).
    const text = await res.text().catch(() => '');
    if (res.ok) return { ok: true };
    const retriable = res.status === 408 || res.status === 429 || res.status >= 500;
    return { ok: false, retriable, reason: `http_${res.status}`, detail: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  } catch (err) {
    if (timeout.aborted)
      return { ok: false, retriable: true, reason: 'timeout', detail: `no answer within ${timeoutMs} ms` };
    if (signal?.aborted) return { ok: false, retriable: true, reason: 'aborted', detail: 'stopping' };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, retriable: true, reason: 'connection', detail: cause?.code ?? cause?.message ?? String(err) };
  }
}
