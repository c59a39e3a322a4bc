/**
 * Result tables: a danfojs DataFrame or plain rows, rendered as an HTML table
 * in notebooks and written as CSV files.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../fsutil';
import { htmlBundle, kernelDisplay } from './display';
import type { DisplaySink } from './types';

/** A cell value of a result table. */
export type TableCell = string | number | boolean | Date | null | undefined;

/** One row: column name -> value. */
export type TableRow = Readonly<Record<string, TableCell>>;

/**
 * What danfojs's `DataFrame` offers (structurally), so this module needs no
 * import of danfojs: column names and the row-major 2-D `values`.
 */
export interface DataFrameLike {
  readonly columns: readonly string[];
  readonly values: readonly unknown[];
}

/** A table: plain rows or a DataFrame. */
export type TableInput = readonly TableRow[] | DataFrameLike;

/** A table in one normal form: column names and rows of cells in the same order. */
export interface NormalTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * Columns and rows of a table. For plain rows the columns are the union of
 * the rows' keys in order of first appearance (a missing key is an empty cell).
 * @throws TypeError naming `table` when the input is neither form
 */
export function normalizeTable(table: TableInput): NormalTable {
  if (Array.isArray(table)) {
    const rows = table as readonly TableRow[];
    const columns: string[] = [];
    const seen = new Set<string>();
    rows.forEach((row, i) => {
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        throw new TypeError(`table: row ${i} is not an object of column -> value`);
      }
      for (const k of Object.keys(row)) {
        if (!seen.has(k)) {
          seen.add(k);
          columns.push(k);
        }
      }
    });
    return { columns, rows: rows.map((r) => columns.map((c) => r[c])) };
  }
  const df = table as DataFrameLike;
  if (
    df === null ||
    typeof df !== 'object' ||
    !Array.isArray(df.columns) ||
    !Array.isArray(df.values)
  ) {
    throw new TypeError(
      'table: expected an array of row objects or a DataFrame (with .columns and .values)',
    );
  }
  const rows = df.values.map((r, i) => {
    if (!Array.isArray(r) || r.length !== df.columns.length) {
      throw new TypeError(
        `table: DataFrame row ${i} has ${Array.isArray(r) ? r.length : 'no'} cells, ` +
          `expected ${df.columns.length}`,
      );
    }
    return r as readonly unknown[];
  });
  return { columns: df.columns.map(String), rows };
}

/** Formats a number for display: integers as they are, others with `digits` significant digits. */
export function formatNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '' : String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const s = v.toPrecision(digits);
  return s.includes('e') ? s : String(Number(s));
}

function displayCell(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return formatNumber(v, digits);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** HTML-escapes text. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface TableDisplayOptions {
  /** Caption above the table. */
  readonly caption?: string;
  /** Significant digits of non-integer numbers (default 4). */
  readonly digits?: number;
  /** Rows shown before the rest is summarised (default 60). */
  readonly maxRows?: number;
  /**
   * Text cells longer than this that repeat down a column are shown as a short key (A, B, ...)
   * explained under the table (default 24; 0 = never). CSV files keep the full text.
   */
  readonly abbreviateOver?: number;
}

/** A column whose long repeated values were replaced by short keys. */
export interface ColumnKey {
  readonly column: string;
  /** [key, full text] in order of first appearance. */
  readonly entries: readonly (readonly [string, string])[];
}

/**
 * Replaces long text values that repeat down a column by A, B, C, ... (AA, AB, ... after Z):
 * a column qualifies when one of its texts is longer than `over` characters and it has fewer
 * distinct texts than rows. Returns the shortened table and the key of every shortened column.
 */
export function abbreviateLongColumns(
  table: TableInput,
  over = 24,
): { table: NormalTable; keys: ColumnKey[] } {
  const { columns, rows } = normalizeTable(table);
  if (!(Number.isInteger(over) && over >= 0))
    throw new RangeError(`abbreviateOver: expected an integer >= 0, got ${over}`);
  const keys: ColumnKey[] = [];
  const out = rows.map((r) => r.slice());
  if (over === 0) return { table: { columns, rows: out }, keys };
  const letters = (k: number): string =>
    k < 26 ? String.fromCharCode(65 + k) : letters(Math.floor(k / 26) - 1) + letters(k % 26);
  columns.forEach((column, j) => {
    const texts = rows.map((r) => r[j]).filter((v): v is string => typeof v === 'string');
    const distinct = [...new Set(texts)];
    if (!texts.some((t) => t.length > over) || distinct.length >= rows.length) return;
    const code = new Map(distinct.map((t, k) => [t, letters(k)]));
    for (const r of out) if (typeof r[j] === 'string') r[j] = code.get(r[j]);
    keys.push({ column, entries: distinct.map((t) => [code.get(t) as string, t] as const) });
  });
  return { table: { columns, rows: out }, keys };
}

function keyLines(keys: readonly ColumnKey[]): string[] {
  return keys.map((k) => `${k.column}: ${k.entries.map(([c, t]) => `${c} = ${t}`).join('; ')}`);
}

function checkDisplayOptions(opts: TableDisplayOptions): { digits: number; maxRows: number } {
  const digits = opts.digits ?? 4;
  const maxRows = opts.maxRows ?? 60;
  if (!Number.isInteger(digits) || digits < 1 || digits > 21)
    throw new RangeError(`digits: expected an integer in [1, 21], got ${digits}`);
  if (!Number.isInteger(maxRows) || maxRows < 1)
    throw new RangeError(`maxRows: expected a positive integer, got ${maxRows}`);
  return { digits, maxRows };
}

/**
 * The table as an HTML `<table>` (no scripts, no styles beyond right-aligned
 * numbers: renders in untrusted notebooks and on repository viewers).
 */
export function tableToHtml(table: TableInput, opts: TableDisplayOptions = {}): string {
  const { digits, maxRows } = checkDisplayOptions(opts);
  const { table: short, keys } = abbreviateLongColumns(table, opts.abbreviateOver ?? 24);
  const { columns, rows } = short;
  const shown = rows.slice(0, maxRows);
  const out: string[] = ['<table class="dgr-table">'];
  if (opts.caption) out.push(`<caption>${escapeHtml(opts.caption)}</caption>`);
  // Long headers wrap instead of widening the table past the output area.
  const th = (c: string): string =>
    (c.length > 24 ? '<th style="white-space:normal;min-width:8em">' : '<th>') +
    escapeHtml(c) +
    '</th>';
  out.push('<thead><tr>' + columns.map(th).join('') + '</tr></thead>');
  out.push('<tbody>');
  for (const r of shown) {
    out.push(
      '<tr>' +
        r
          .map(
            (v) =>
              (typeof v === 'number' ? `<td style="text-align:right">` : '<td>') +
              escapeHtml(displayCell(v, digits)) +
              '</td>',
          )
          .join('') +
        '</tr>',
    );
  }
  if (rows.length > shown.length) {
    out.push(
      `<tr><td colspan="${Math.max(1, columns.length)}">… ${rows.length - shown.length} more ` +
        `rows (${rows.length} in all)</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  for (const line of keyLines(keys)) out.push(`<p>${escapeHtml(line)}</p>`);
  return out.join('\n');
}

/** The table as fixed-width text (the `text/plain` fallback). */
export function tableToText(table: TableInput, opts: TableDisplayOptions = {}): string {
  const { digits, maxRows } = checkDisplayOptions(opts);
  const { table: short, keys } = abbreviateLongColumns(table, opts.abbreviateOver ?? 24);
  const { columns, rows } = short;
  const cells = [
    columns.slice(),
    ...rows.slice(0, maxRows).map((r) => r.map((v) => displayCell(v, digits))),
  ];
  const widths = columns.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  const lines = cells.map((r) => r.map((c, j) => (c ?? '').padStart(widths[j] ?? 0)).join('  '));
  if (rows.length > maxRows)
    lines.push(`... ${rows.length - maxRows} more rows (${rows.length} in all)`);
  lines.push(...keyLines(keys));
  return (opts.caption ? `${opts.caption}\n` : '') + lines.join('\n');
}

function csvCell(v: unknown): string {
  let s: string;
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) s = '';
  else if (v instanceof Date) s = v.toISOString();
  else s = String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The table as CSV (RFC 4180 quoting, header row, `\n` line ends, numbers at
 * full precision, empty cell for null/undefined/NaN).
 */
export function tableToCsv(table: TableInput): string {
  const { columns, rows } = normalizeTable(table);
  return [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/**
 * Writes the table as CSV to `file` (via a temporary file and rename: never half-written). Returns
 * the absolute path.
 */
export function writeTableCsv(table: TableInput, file: string): string {
  const abs = path.resolve(file);
  writeFileAtomic(abs, tableToCsv(table));
  return abs;
}

/**
 * Shows a table in the notebook: HTML table, text fallback.
 * @param display where the output goes (default: the tslab kernel)
 */
export function showTable(
  table: TableInput,
  opts: TableDisplayOptions & { readonly display?: DisplaySink } = {},
): void {
  (opts.display ?? kernelDisplay)(htmlBundle(tableToHtml(table, opts), tableToText(table, opts)));
}
