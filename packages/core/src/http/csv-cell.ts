/**
 * Spreadsheet formula injection (CSV injection, OWASP): a cell that begins with `=`, `+`, `-`
 * or `@` (or a tab or carriage return, which some spreadsheets skip before one of those) is
 * run as a formula when a person opens the CSV. Exports carry text producers supplied (zone
 * IDs, alert summaries), so such a cell gets a leading `'`, which spreadsheets show as text.
 * Numbers are left alone: `-3.5` is a value, not a formula.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The cell as a spreadsheet will show it as text. */
export function csvCell(text: string): string {
  return FORMULA_START.test(text) && !NUMBER.test(text) ? `'${text}` : text;
}
