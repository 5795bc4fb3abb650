// The command line tools the operations tests run (cli/src/ops.test.ts,
// cli/src/prometheus-scrape.test.ts): Debian's promtool, prometheus and docker-compose (v1).
// `npm test` provisions them as it provisions the Kafka broker: when one is missing and the
// package manager can be used (root, or passwordless sudo), apt-get installs Debian's
// `prometheus` (which brings promtool) and `docker-compose`, its output in a log file; where it
// cannot, the run stops before the suite with the one command that fixes it.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Commands the operations tests run. */
export const TOOLS = Object.freeze(['promtool', 'prometheus', 'docker-compose']);
/** Debian packages that bring them (`prometheus` ships promtool). */
export const PACKAGES = Object.freeze(['prometheus', 'docker-compose']);
/** Compiled test files that need the tools: other runs do not ask for them. */
export const TOOL_TESTS = Object.freeze(['ops.test.js', 'prometheus-scrape.test.js']);
/** What a person runs when `npm test` cannot install the tools itself. */
export const FIX_COMMAND = `sudo apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`;

/** True when an executable file called `name` is in one of the directories of `path`. */
export function onPath(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** How apt-get can be run here: `'root'`, `'sudo'` (passwordless) or `null`. */
export function packageManagerAccess(path = process.env.PATH ?? '') {
  if (!onPath('apt-get', path)) return null;
  if (process.getuid?.() === 0) return 'root';
  if (!onPath('sudo', path)) return null;
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? 'sudo' : null;
}

/**
 * Runs `apt-get update` and `apt-get install` of PACKAGES, all output appended to `logFile`.
 * Returns the exit status of the first step that failed, or 0.
 */
export function aptInstall(access, logFile) {
  const fd = openSync(logFile, 'a');
  try {
    const prefix = access === 'sudo' ? ['sudo', '-n'] : [];
    const steps = [
      ['apt-get', 'update'],
      ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', ...PACKAGES],
    ];
    for (const step of steps) {
      const [cmd, ...args] = [...prefix, ...step];
      const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd] });
      if (r.status !== 0) return r.status ?? 1;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Makes sure TOOLS are on the PATH, installing them when it can. Every probe and the installer
 * can be injected (tests). Returns `{ ok, message }`: `message` is one line when nothing failed
 * (empty when nothing was missing); on failure it names what is missing and the fix.
 *
 * @param {object} [o]
 * @param {(name: string) => boolean} [o.has] is a command on the PATH
 * @param {() => 'root' | 'sudo' | null} [o.access] how apt-get can be run
 * @param {(access: 'root' | 'sudo', logFile: string) => number} [o.install] exit status
 * @param {string} [o.logFile] where apt-get's output goes
 */
export function provisionTestTools(o = {}) {
  const has = o.has ?? ((name) => onPath(name));
  const logFile = o.logFile ?? join(tmpdir(), 'meterstream-test-tools.log');
  const missing = TOOLS.filter((t) => !has(t));
  if (missing.length === 0) return { ok: true, message: '' };
  const what = `${missing.join(', ')} (run by the operations tests)`;
  const access = (o.access ?? (() => packageManagerAccess()))();
  if (access === null) {
    return {
      ok: false,
      message:
        `missing ${what}, and npm test can install them only as root or with passwordless sudo.\n` +
        `Fix: ${FIX_COMMAND}   (Debian/Ubuntu; then run npm test again)`,
    };
  }
  const status = (o.install ?? aptInstall)(access, logFile);
  const still = TOOLS.filter((t) => !has(t));
  if (status !== 0 || still.length > 0) {
    const why = status !== 0 ? `apt-get failed (exit ${status})` : `${still.join(', ')} still missing after apt-get`;
    return {
      ok: false,
      message:
        `missing ${what}: ${why}. Last lines of ${logFile}:\n${tail(logFile, 15)}\n` +
        `Fix: ${FIX_COMMAND}   (then run npm test again)`,
    };
  }
  return {
    ok: true,
    message: `test tools: installed ${PACKAGES.join(' ')} with apt-get${access === 'sudo' ? ' (sudo)' : ''} for ${missing.join(', ')} (log: ${logFile})`,
  };
}
