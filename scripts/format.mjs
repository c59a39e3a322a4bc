#!/usr/bin/env node
// npm run format: Prettier over the library, scripts, tests and the code cells of the notebooks.
//   npm run format                       format lib/, scripts/, tests/ and notebooks/ in place
//   npm run format -- --check            change nothing; list files that are not formatted and
//                                        lines that are too long (exit 1 if there are any)
//   npm run format -- lib/engine/x.ts    only these files (TypeScript, .mjs or .ipynb)
// Prettier puts each property of a literal that does not fit in 100 columns on its own line, so a
// notebook cell stays short (the course's median of at most 8 lines, tests/notebooks.test.ts) by
// holding one idea: split a cell that grows, or name a part of it first.
//
// Line length: no line of lib/, scripts/, tests/ (and eslint.config.mjs) may be longer than the
// print width (100), counted in characters (θ or ⊙ is one). Prettier breaks code but not strings
// or comments, so the lines it leaves too long are listed as file:line and fail --check: split
// the string into a concatenation ('...' + '...') and rewrap the comment by hand.
//
// Notebooks: each code cell's source is formatted on its own (TypeScript, as tslab compiles it)
// and written back into the same place of the file. Outputs, metadata, markdown cells and the
// file's JSON layout (nbformat's 1-space indent) stay byte for byte as they were. Code lines that
// are still longer than the print width afterwards (e.g. long strings) are listed, and fail
// --check, as the long lines of the other files do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['lib', 'scripts', 'tests'];
const EXTENSIONS = ['.ts', '.mjs'];

/** A line's length in characters (code points, not UTF-16 units or bytes). */
const width = (line) => [...line].length;

/** The lines of `text` longer than `limit` characters, as { n: line number, w: width }. */
const longLines = (text, limit) =>
  text.split('\n').flatMap((l, j) => (width(l) > limit ? [{ n: j + 1, w: width(l) }] : []));

function listSources() {
  const out = ['eslint.config.mjs'];
  const walk = (dir) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (EXTENSIONS.some((x) => e.name.endsWith(x))) out.push(rel);
    }
  };
  DIRS.forEach(walk);
  const nb = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'));
  return [...out.sort(), ...nb.sort().map((f) => path.join('notebooks', f))];
}

/**
 * The `"source": [...]` value of every cell, as written by nbformat (indent 1: cells at depth 2).
 */
const SOURCE_RE = /^ {3}"source": (\[\]|\[\n(?: {4}.*\n)*? {3}\])/gm;

/** A source array written as nbformat writes it at that depth. */
function sourceJson(lines) {
  if (lines.length === 0) return '[]';
  return `[\n${lines.map((l) => `    ${JSON.stringify(l)}`).join(',\n')}\n   ]`;
}

/** nbformat's source lines: each ends in \n except the last. */
function toLines(text) {
  if (text === '') return [];
  const parts = text.split('\n');
  return parts.map((p, i) => (i < parts.length - 1 ? `${p}\n` : p)).filter((p) => p !== '');
}

async function formatNotebook(file, text, options) {
  const nb = JSON.parse(text);
  const matches = [...text.matchAll(SOURCE_RE)];
  if (matches.length !== nb.cells.length) {
    throw new Error(
      `${file}: found ${matches.length} cell sources for ${nb.cells.length} cells; ` +
        'is the file written by nbformat (indent 1)?',
    );
  }
  const long = [];
  let out = '';
  let last = 0;
  for (const [i, cell] of nb.cells.entries()) {
    const m = matches[i];
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    if (sourceJson(toLines(source)) !== m[1]) {
      throw new Error(
        `${file}: cell ${i}'s source is not laid out as nbformat writes it; ` +
          'open and save the notebook in JupyterLab first',
      );
    }
    let formatted = source;
    if (cell.cell_type === 'code' && source.trim() !== '') {
      try {
        formatted = (await prettier.format(source, { ...options, parser: 'typescript' })).replace(
          /\n$/,
          '',
        );
      } catch (err) {
        throw new Error(
          `${file}: code cell ${i} (starting \`${source.split('\n')[0]}\`) does not parse: ` +
            `${err.message.split('\n')[0]}`,
          { cause: err },
        );
      }
      for (const { n, w } of longLines(formatted, options.printWidth))
        long.push(`${file}: cell ${i}, line ${n} has ${w} characters`);
    }
    const start = m.index + m[0].length - m[1].length;
    out += text.slice(last, start) + sourceJson(toLines(formatted));
    last = start + m[1].length;
  }
  out += text.slice(last);
  JSON.parse(out); // still valid JSON
  return { out, long };
}

async function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const given = args.filter((a) => !a.startsWith('--'));
  const files =
    given.length > 0 ? given.map((f) => path.relative(ROOT, path.resolve(f))) : listSources();
  const unformatted = [];
  const long = [];
  const longSource = [];
  for (const file of files) {
    const abs = path.join(ROOT, file);
    const text = fs.readFileSync(abs, 'utf8');
    const options = { ...(await prettier.resolveConfig(abs)), filepath: abs };
    let out;
    if (file.endsWith('.ipynb')) {
      const r = await formatNotebook(file, text, options);
      out = r.out;
      long.push(...r.long);
    } else {
      out = await prettier.format(text, options);
      for (const { n, w } of longLines(out, options.printWidth))
        longSource.push(`${file}:${n}: ${w} characters`);
    }
    if (out !== text) {
      unformatted.push(file);
      if (!check) fs.writeFileSync(abs, out);
    }
  }
  for (const l of [...longSource, ...long]) console.log(`too long: ${l}`);
  if (check) {
    for (const f of unformatted) console.log(`not formatted: ${f}`);
    console.log(
      `format --check: ${files.length} files, ${unformatted.length} not formatted, ` +
        `${longSource.length} lines of lib, scripts, tests and ${long.length} notebook code ` +
        'lines too long',
    );
    const ok = unformatted.length === 0 && longSource.length === 0 && long.length === 0;
    process.exit(ok ? 0 : 1);
  }
  console.log(
    `format: ${files.length} files, ${unformatted.length} rewritten, ` +
      `${longSource.length} lines of lib, scripts, tests and ${long.length} notebook code lines ` +
      'still too long',
  );
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
