/**
 * TEST SUPPORT ONLY: `node chdb-http-front.main.js <data dir>` runs the embedded engine on that
 * data directory behind the HTTP front (chdb-http-front.ts) on a free port of 127.0.0.1, prints
 * `chdb-http-front: listening on <url>` and serves until SIGTERM/SIGINT.
 */
import { createRequire } from 'node:module';
import { serveChdbOverHttp } from './chdb-http-front.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: chdb-http-front.main.js <data dir>\n');
  process.exit(64);
}
const { Session } = createRequire(import.meta.url)('chdb') as {
  Session: new (path: string) => Parameters<typeof serveChdbOverHttp>[0];
};
const session = new Session(dataDir);
const front = await serveChdbOverHttp(session);
process.stdout.write(`chdb-http-front: listening on ${front.url}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void front.close().then(() => {
      session.close();
      process.exit(0);
    });
  });
}
