// The command line tools some tests run: Debian's promtool, prometheus and docker-compose (v1)
// for the operations tests (cli/src/ops-prometheus.test.ts, ops-compose.test.ts, prometheus-scrape.test.ts), Chromium
// for the console's browser tests, and Debian's Alertmanager for the notifier's end-to-end test.
// `npm test` provisions them as it provisions the Kafka broker, only for the tests it runs: when
// one is missing and the package manager can be used (root, or passwordless sudo), apt-get
// installs the Debian packages that bring them, its output in a log file; where it cannot, the
// run stops before the suite with the one command that fixes it.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** What each group of tests needs: its compiled test files, the tools, the Debian packages, who runs them. */
export const NEEDS = Object.freeze([
  {
    tests: ['ops-prometheus.test.js', 'ops-compose.test.js', 'prometheus-scrape.test.js'],
    tools: ['promtool', 'prometheus', 'docker-compose'],
    // `prometheus` ships promtool.
    packages: ['prometheus', 'docker-compose'],
    for: 'the operations tests',
  },
  {
    tests: ['console-browser.test.js'],
    tools: ['chromium'],
    packages: ['chromium'],
    for: "the console's browser tests",
  },
  {
    tests: ['notifier-e2e.test.js'],
    tools: ['prometheus-alertmanager'],
    packages: ['prometheus-alertmanager'],
    for: "the notifier's end-to-end test",
  },
]);
/** Commands the operations tests run. */
export const TOOLS = Object.freeze(NEEDS[0].tools);
/** Debian packages that bring them. */
export const PACKAGES = Object.freeze(NEEDS[0].packages);

/** The command that installs `packages`. */
export function fixCommand(packages) {
  return `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}
/** What a person runs when `npm test` cannot install the operations tests' tools itself. */
export const FIX_COMMAND = fixCommand(PACKAGES);

/** What the given compiled test files (base names) need, merged; `null` when nothing. */
export function needsOf(testFiles) {
  const groups = NEEDS.filter((n) => n.tests.some((t) => testFiles.includes(t)));
  if (groups.length === 0) return null;
  const names = groups.map((g) => g.for);
  return {
    tools: [...new Set(groups.flatMap((g) => g.tools))],
    packages: [...new Set(groups.flatMap((g) => g.packages))],
    for: names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`,
  };
}

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
 * Runs `apt-get update` and `apt-get install` of `packages`, all output appended to `logFile`.
 * Returns the exit status of the first step that failed, or 0.
 */
export function aptInstall(access, logFile, packages = PACKAGES) {
  const fd = openSync(logFile, 'a');
  try {
    const prefix = access === 'sudo' ? ['sudo', '-n'] : [];
    const steps = [
      ['apt-get', 'update'],
      ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', ...packages],
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
 * Makes sure the tools (default: the operations tests') are on the PATH, installing them when it can. Every probe and the installer
 * can be injected (tests). Returns `{ ok, message }`: `message` is one line when nothing failed
 * (empty when nothing was missing); on failure it names what is missing and the fix.
 *
 * @param {object} [o]
 * @param {(name: string) => boolean} [o.has] is a command on the PATH
 * @param {() => 'root' | 'sudo' | null} [o.access] how apt-get can be run
 * @param {(access: 'root' | 'sudo', logFile: string, packages: string[]) => number} [o.install] exit status
 * @param {string} [o.logFile] where apt-get's output goes
 * @param {{tools: string[], packages: string[], for: string}} [o.needs] what to provide (see {@link needsOf})
 */
export function provisionTestTools(o = {}) {
  const has = o.has ?? ((name) => onPath(name));
  const logFile = o.logFile ?? join(tmpdir(), 'meterstream-test-tools.log');
  const needs = o.needs ?? NEEDS[0];
  const fix = fixCommand(needs.packages);
  const missing = needs.tools.filter((t) => !has(t));
  if (missing.length === 0) return { ok: true, message: '' };
  const what = `${missing.join(', ')} (run by ${needs.for})`;
  const access = (o.access ?? (() => packageManagerAccess()))();
  if (access === null) {
    return {
      ok: false,
      message:
        `missing ${what}, and npm test can install them only as root or with passwordless sudo.\n` +
        `Fix: ${fix}   (Debian/Ubuntu; then run npm test again)`,
    };
  }
  const status = (o.install ?? aptInstall)(access, logFile, needs.packages);
  const still = needs.tools.filter((t) => !has(t));
  if (status !== 0 || still.length > 0) {
    const why = status !== 0 ? `apt-get failed (exit ${status})` : `${still.join(', ')} still missing after apt-get`;
    return {
      ok: false,
      message:
        `missing ${what}: ${why}. Last lines of ${logFile}:\n${tail(logFile, 15)}\n` +
        `Fix: ${fix}   (then run npm test again)`,
    };
  }
  return {
    ok: true,
    message: `test tools: installed ${needs.packages.join(' ')} with apt-get${access === 'sudo' ? ' (sudo)' : ''} for ${missing.join(', ')} (log: ${logFile})`,
  };
}
