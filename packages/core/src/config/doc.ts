/**
 * docs/configuration.md, rendered from the declarations: what `npm run docs:config` writes and
 * what a test compares the committed file with, so the reference cannot drift from the code.
 */
import { tenantKeysOf } from './detectors.js';
import { formatWindow } from './parse.js';
import { SECTIONS, type Section } from './setting.js';
import { VARIABLES, type Variable } from './settings.js';

const INTRO = `# Configuration

<!-- Generated from packages/core/src/config/*settings.ts by \`npm run docs:config\`; do not edit. -->

meterstream is configured by environment variables, read once at start-up into a frozen
configuration that every component gets passed in. An empty variable counts as unset.

A bad value — out of its bounds, not of its kind, or breaking a rule between two variables —
or a \`METERSTREAM_*\` variable that is not listed here (a typo) stops start-up with a message
naming the variable, and \`meterstream\` exits with code 78 (\`EX_CONFIG\`).

## Per-tenant detector thresholds

Every detector threshold below can be overridden per tenant with
\`METERSTREAM_TENANT_DETECTORS\`, a JSON object of tenant → settings, keyed by the tenant key
in the detectors' table; a tenant's settings are its overrides over the fleet-wide values.
Each override is held to the same bounds as its variable, and a tenant's settings to the same
rules between them (the night window ends after it starts; frost: critical ≤ warning <
resolve). For example:

\`\`\`sh
METERSTREAM_TENANT_DETECTORS='{"stockholm": {"timeZone": "Europe/Stockholm", "nightFlowWarningLph": 20}}'
\`\`\`
`;

/** Markdown table cell: pipes escaped, one line. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function shownDefault(v: Variable): string {
  if (v.shown !== undefined) return v.shown;
  const d = v.default;
  if (d === null) throw new Error(`${v.name}: a null default needs \`shown\` to say what unset means`);
  if (d === '') return '(empty)';
  if (Array.isArray(d) && d.length === 2) return `\`${formatWindow(d as [number, number])}\``;
  return `\`${String(d)}\``;
}

function table(section: Section): string {
  const vars = VARIABLES.filter((v) => v.section === section);
  const detectors = section === 'detectors';
  const head = detectors
    ? '| variable | tenant key | default | allowed | meaning |\n| --- | --- | --- | --- | --- |'
    : '| variable | default | allowed | meaning |\n| --- | --- | --- | --- |';
  const rows = vars.map((v) => {
    const cells = [`\`${v.name}\``];
    if (detectors)
      cells.push(
        tenantKeysOf(v.name)
          .map((k) => `\`${k}\``)
          .join(', ') || '—',
      );
    cells.push(shownDefault(v), v.parser.allowed, v.doc);
    return `| ${cells.map(cell).join(' | ')} |`;
  });
  return `## ${SECTIONS[section]}\n\n${head}\n${rows.join('\n')}\n`;
}

/** The configuration reference (docs/configuration.md), from the declarations. */
export function renderConfigurationDoc(): string {
  const sections = (Object.keys(SECTIONS) as Section[]).filter((s) => VARIABLES.some((v) => v.section === s));
  return [INTRO, ...sections.map(table)].join('\n');
}
