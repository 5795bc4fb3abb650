/**
 * Test support: a webhook receiver (node:http) that misbehaves on purpose. `plan(deliveryId,
 * n)` says what the n-th request (1-based) of one delivery gets: `'ok'` (200), `'fail'` (500),
 * `'hang'` (no answer, past the notifier's timeout) or `'drop'` (the connection is destroyed).
 * Every request is recorded with whether its signature verifies.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER } from '../transforms/signature.js';

export type Behaviour = 'ok' | 'fail' | 'hang' | 'drop';

export interface ReceivedRequest {
  path: string;
  deliveryId: string;
  body: string;
  signatureValid: boolean;
  answered: Behaviour;
}

export interface WebhookReceiver {
  /** Base URL; each webhook posts to its own path (`/<name>`). */
  url: string;
  requests: ReceivedRequest[];
  /** Requests that were answered 200, deduplicated by delivery id, per path. */
  delivered(path: string): Map<string, ReceivedRequest>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(
  secrets: Record<string, string>,
  plan: (path: string, deliveryId: string, n: number) => Behaviour,
): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? '/';
      const deliveryId = String(req.headers[DELIVERY_HEADER] ?? '');
      const n = (counts.get(`${path} ${deliveryId}`) ?? 0) + 1;
      counts.set(`${path} ${deliveryId}`, n);
      const secret = secrets[path] ?? '';
      const signatureValid = verifySignature(
        secret,
        req.headers[SIGNATURE_HEADER] as string | undefined,
        req.headers[TIMESTAMP_HEADER] as string | undefined,
        body,
        Math.floor(Date.now() / 1000),
      );
      const answered = plan(path, deliveryId, n);
      requests.push({ path, deliveryId, body, signatureValid, answered });
      if (answered === 'ok') res.writeHead(200).end('ok');
      else if (answered === 'fail') res.writeHead(500).end('receiver failing on purpose');
      else if (answered === 'drop') req.socket.destroy();
      else hanging.add(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    delivered(path) {
      const out = new Map<string, ReceivedRequest>();
      for (const r of requests) if (r.path === path && r.answered === 'ok') out.set(r.deliveryId, r);
      return out;
    },
    stop: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
