/**
 * Results of runs: a run name derived from the settings (a parameter stamp), results as danfojs
 * DataFrames, and saving/loading under `results/<runName>/` so notebooks can redraw figures
 * without retraining.
 *
 * Files of a run: `results.json` (authoritative: settings, task names, accuracy matrix R,
 * baseline b, metrics, config), plus `accuracy.csv` and `metrics.csv` for people and pandas.
 * Each file is written atomically (temporary file, fsync, rename); results.json last.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Danfo from 'danfojs-node';
import { tf } from '../tf';
import type { AccuracyMatrix, Scenario, TaskSequence } from './types';
import { SCENARIOS, type ExperimentConfig } from './config';
import { checkAccuracyMatrix, computeMetrics, type Metrics } from './eval';
import { type Json } from './checkpoint';
import { writeFileAtomic } from '../fsutil';

// ---------------------------------------------------------------------------------------------
// Run names

/** The settings a run name is made of. */
export interface RunNameParts {
  /** Sequence name, e.g. 'splitMNIST', 'permMNIST'. */
  readonly sequence: string;
  readonly scenario: Scenario;
  /** Method, e.g. 'gr' (generative replay), 'er' (exact replay), 'none' (plain fine-tuning). */
  readonly method: string;
  /** Generator kind for replay methods, e.g. 'vae', 'wgangp'. */
  readonly generator?: string;
  /**
   * Replay ratio r (fraction of replayed examples), or '1/t' (importance by number of tasks seen,
   * Shin et al. §3).
   */
  readonly ratio: number | '1/t';
  readonly seed: number;
  /**
   * Further settings that distinguish runs, e.g. { epochs: 5, z: 100 }. Values are compared by
   * their text form.
   */
  readonly extra?: Readonly<Record<string, string | number | boolean>>;
}

const WORD = /^[A-Za-z0-9_.]+$/;
const KEY = /^[A-Za-z][A-Za-z0-9_]*$/;

function checkWord(name: string, v: unknown): string {
  if (typeof v !== 'string' || !WORD.test(v) || v.startsWith('.')) {
    throw new TypeError(
      `runName: ${name} must be letters, digits, '_' or '.' (not starting with '.'), ` +
        `got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Numbers as text without '-' (which separates fields): '-' becomes 'm' (String(n) never contains
 * 'm').
 */
function encodeNumber(name: string, n: number): string {
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new TypeError(`runName: ${name} must be a finite number, got ${String(n)}`);
  return String(n).replace(/-/g, 'm');
}
const decodeNumber = (s: string): number => Number(s.replace(/m/g, '-'));

/** The run-name settings (results.ts `runName`) of a config on a sequence. */
export function runNameParts(
  config: ExperimentConfig,
  sequence: Pick<TaskSequence, 'name' | 'scenario'>,
): RunNameParts {
  const mode = config.replay.mode;
  const replayMethod = { none: 'none', noise: 'noise', exact: 'er', generative: 'gr' }[mode];
  const generator =
    mode === 'generative' && config.generator !== null
      ? config.generator.kind === 'vae'
        ? 'vae'
        : `wgangp_${config.generator.arch}`
      : undefined;
  const extra: Record<string, string | number | boolean> = { iters: config.iterations };
  // Notebook 08: the generator's own budget, when the config sets one.
  if (config.generatorIterations !== undefined && config.generator !== null)
    extra.genIters = Array.isArray(config.generatorIterations)
      ? config.generatorIterations.join('_')
      : (config.generatorIterations as number);
  if (config.solverIterations !== undefined) extra.solverIters = config.solverIterations;
  if (mode !== 'none' && config.replay.targets === 'soft')
    extra.distillT = config.replay.temperature;
  // issue 12: LwF and the regulariser join the method ('ewc', 'oewc', 'si', 'lwf', 'gr_ewc', …).
  const added = regularizationNameParts(config, extra);
  const words = mode === 'none' && added.length > 0 ? added : [replayMethod, ...added];
  const method = words.join('_');
  const ratioUsed = mode !== 'none' || (config.lwf ?? null) !== null;
  return {
    sequence: sequence.name,
    scenario: sequence.scenario,
    method,
    ...(generator !== undefined ? { generator } : {}),
    ratio: !ratioUsed ? 1 : config.replay.ratio === 'inverse-task' ? '1/t' : config.replay.ratio,
    seed: config.seed,
    extra,
  };
}

/** The method words of config.lwf and config.regularizer; their settings go into `extra`. */
function regularizationNameParts(
  config: ExperimentConfig,
  extra: Record<string, string | number | boolean>,
): string[] {
  const words: string[] = [];
  const lwf = config.lwf ?? null;
  const reg = config.regularizer ?? null;
  if (lwf !== null) {
    words.push('lwf');
    extra.lwfT = lwf.temperature;
  }
  if (reg !== null && reg.kind === 'ewc') {
    words.push(reg.online ? 'oewc' : 'ewc');
    extra.lambda = reg.lambda;
    if (reg.online) extra.gamma = reg.gamma;
    extra.fisher = `${reg.fisherLabels}${reg.fisherExamples === 'all' ? '' : reg.fisherExamples}`;
  } else if (reg !== null) {
    words.push('si');
    extra.c = reg.c;
    extra.xi = reg.xi;
  }
  return words;
}

/**
 * The run name of a setting, e.g. `splitMNIST-class-gr-vae-r1overt-s0` or
 * `permMNIST-domain-none-r0-s3-epochs=5`. Fields are joined by '-': sequence, scenario, method,
 * [generator], r<ratio>, s<seed>, then extras as key=value sorted by key. No field may contain '-'
 * or '=', so different settings never give the same name ({@link parseRunName} inverts it).
 */
export function runName(parts: RunNameParts): string {
  const fields = [checkWord('sequence', parts.sequence)];
  if (!(SCENARIOS as readonly unknown[]).includes(parts.scenario))
    throw new TypeError(
      `runName: scenario must be one of ${SCENARIOS.join(', ')}, got ${String(parts.scenario)}`,
    );
  fields.push(parts.scenario, checkWord('method', parts.method));
  if (parts.generator !== undefined) fields.push(checkWord('generator', parts.generator));
  if (parts.ratio === '1/t') fields.push('r1overt');
  else {
    if (typeof parts.ratio !== 'number' || !(parts.ratio >= 0 && parts.ratio <= 1))
      throw new RangeError(`runName: ratio must be in [0, 1] or '1/t', got ${String(parts.ratio)}`);
    fields.push(`r${encodeNumber('ratio', parts.ratio)}`);
  }
  if (!Number.isInteger(parts.seed) || parts.seed < 0)
    throw new RangeError(`runName: seed must be an integer >= 0, got ${String(parts.seed)}`);
  fields.push(`s${parts.seed}`);
  for (const key of Object.keys(parts.extra ?? {}).sort()) {
    if (!KEY.test(key))
      throw new TypeError(
        `runName: extra key ${JSON.stringify(key)} must start with a letter and hold letters, ` +
          `digits or '_'`,
      );
    const v = (parts.extra as Record<string, string | number | boolean>)[key];
    const text =
      typeof v === 'number'
        ? encodeNumber(`extra.${key}`, v)
        : typeof v === 'boolean'
          ? String(v)
          : checkWord(`extra.${key}`, v);
    fields.push(`${key}=${text}`);
  }
  return fields.join('-');
}

/** The settings of a run name made by {@link runName} (extras come back as text). */
export function parseRunName(name: string): RunNameParts {
  const tokens = name.split('-');
  const main = tokens.filter((t) => !t.includes('='));
  const extras = tokens.filter((t) => t.includes('='));
  const bad = (why: string): never => {
    throw new TypeError(`parseRunName: ${JSON.stringify(name)} is not a run name (${why})`);
  };
  if (main.length !== 5 && main.length !== 6)
    bad(`expected 5 or 6 fields before the extras, found ${main.length}`);
  if (tokens.slice(0, main.length).some((t) => t.includes('='))) bad('extras must come last');
  const [sequence, scenario, method] = main as [string, string, string];
  const generator = main.length === 6 ? main[3] : undefined;
  const r = main[main.length - 2] as string;
  const s = main[main.length - 1] as string;
  if (!r.startsWith('r')) bad(`ratio field ${r} does not start with 'r'`);
  if (!/^s\d+$/.test(s)) bad(`seed field ${s} is not s<integer>`);
  const ratio: number | '1/t' = r === 'r1overt' ? '1/t' : decodeNumber(r.slice(1));
  if (ratio !== '1/t' && Number.isNaN(ratio)) bad(`ratio field ${r} is not a number`);
  const extra: Record<string, string> = {};
  for (const e of extras) {
    const [k, v] = e.split('=') as [string, string];
    extra[k] = v;
  }
  const parts: RunNameParts = {
    sequence,
    scenario: scenario as Scenario,
    method,
    ...(generator !== undefined ? { generator } : {}),
    ratio,
    seed: Number(s.slice(1)),
    ...(extras.length > 0 ? { extra } : {}),
  };
  if (runName(parts) !== name) bad('it does not round-trip');
  return Object.freeze(parts);
}

// ---------------------------------------------------------------------------------------------
// danfojs (loaded on first use: it takes seconds, and must not change the TensorFlow backend)

type DanfoModule = typeof Danfo;

/**
 * danfojs-node, loaded on first use; checks the native TensorFlow backend is still active
 * afterwards.
 */
export function danfo(): DanfoModule {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports --
   * loaded on first use: importing danfojs takes seconds */
  const mod = require('danfojs-node') as DanfoModule;
  if (tf.getBackend() !== 'tensorflow') {
    throw new Error(
      `loading danfojs-node switched the TensorFlow backend to '${tf.getBackend()}'; ` +
        `it must share the native 'tensorflow' backend ` +
        '(one copy of @tensorflow/tfjs-node in node_modules)',
    );
  }
  return mod;
}

/** Column-safe text for CSV headers (no comma, quote or newline). */
const columnName = (s: string): string => s.replace(/[,"\n\r]/g, ' ');

function uniqueNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const c = columnName(n);
    const k = seen.get(c) ?? 0;
    seen.set(c, k + 1);
    return k === 0 ? c : `${c} (${k + 1})`;
  });
}

/**
 * R as a DataFrame: one row per training stage i (column `after`: index of the last task trained,
 * `after_task`: its name), one column per evaluated task j (named by task), values R[i][j].
 */
export function accuracyDataFrame(
  R: AccuracyMatrix,
  taskNames?: readonly string[],
): Danfo.DataFrame {
  checkAccuracyMatrix(R, 'accuracyDataFrame');
  const T = (R[0] as readonly number[]).length;
  const names = uniqueNames(taskNames ?? Array.from({ length: T }, (_, j) => `task ${j}`));
  if (names.length !== T)
    throw new RangeError(`accuracyDataFrame: ${names.length} task names for ${T} tasks`);
  const columns: Record<string, (number | string)[]> = {
    after: R.map((_, i) => i),
    after_task: R.map((_, i) => names[i] as string),
  };
  names.forEach((n, j) => (columns[n] = R.map((row) => row[j] as number)));
  return new (danfo().DataFrame)(columns);
}

/** One row of a metrics table. */
export interface MetricsRow extends Metrics {
  readonly run: string;
}

/**
 * Metrics of several runs as a DataFrame: columns run, averageAccuracy, backwardTransfer,
 * forwardTransfer, forgetting.
 */
export function metricsDataFrame(rows: readonly MetricsRow[]): Danfo.DataFrame {
  if (rows.length === 0) throw new RangeError('metricsDataFrame: no runs given');
  const keys = [
    'run',
    'averageAccuracy',
    'backwardTransfer',
    'forwardTransfer',
    'forgetting',
  ] as const;
  const columns: Record<string, (number | string)[]> = {};
  for (const k of keys) columns[k] = rows.map((r) => r[k]);
  return new (danfo().DataFrame)(columns);
}

// ---------------------------------------------------------------------------------------------
// Saving and loading

export const RESULTS_FORMAT = 'dgr-results';
export const RESULTS_VERSION = 1;

/** What a run leaves behind. */
export interface RunResults {
  readonly runName: string;
  /** The settings (when the name was made with runName). */
  readonly parts?: RunNameParts;
  readonly taskNames: readonly string[];
  /** R[i][j]: accuracy on task j after training on tasks 0..i. */
  readonly accuracy: AccuracyMatrix;
  /** Accuracy of the randomly initialised model per task (for forward transfer). */
  readonly baseline?: readonly number[];
  /** Computed from accuracy and baseline on save (NaN where undefined). */
  readonly metrics: Metrics;
  /** The full run configuration (JSON). */
  readonly config?: Json;
  /**
   * Extra series for figures, e.g. { averageAccuracy: [...], loss: [...] } (finite numbers or
   * null).
   */
  readonly curves?: Readonly<Record<string, readonly (number | null)[]>>;
  readonly savedAt: string;
}

export type RunResultsInput = Omit<RunResults, 'metrics' | 'savedAt' | 'parts'>;

/** Thrown when results are missing or unreadable; `file` names the file. */
export class ResultsError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ResultsError';
  }
}

/** The project's results folder: `$DGR_RESULTS_DIR`, else `results/` at the repository root. */
export function defaultResultsRoot(): string {
  return process.env.DGR_RESULTS_DIR ?? path.join(projectRoot(), 'results');
}

/** The repository's root folder (where package.json is). */
export function projectRoot(): string {
  return path.resolve(__dirname, '..', '..', '..');
}

/**
 * `p` as a reader should see it in a notebook's output: relative to the repository when inside it
 * ("results/permMNIST-…"), otherwise only its last part after "…/" — never the absolute path of the
 * machine that ran the notebook.
 */
export function displayPath(p: string): string {
  const rel = path.relative(projectRoot(), path.resolve(p));
  if (rel === '') return '.';
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  return `…/${path.basename(p)}`;
}

/** Directory of a run's results. */
export function resultsDir(name: string, root: string = defaultResultsRoot()): string {
  checkWord('run name', name.replace(/[-=]/g, '_'));
  return path.join(root, name);
}

const nanToNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
const nullToNaN = (v: unknown): number => (v === null ? Number.NaN : (v as number));

/**
 * Saves a run under `<root>/<runName>/` (results.json, accuracy.csv, metrics.csv), each file
 * atomically, results.json last. Metrics are computed here from accuracy and baseline. Returns the
 * directory.
 */
export async function saveResults(
  run: RunResultsInput,
  opts: { readonly root?: string } = {},
): Promise<string> {
  const dir = resultsDir(run.runName, opts.root);
  checkAccuracyMatrix(run.accuracy, 'saveResults: accuracy');
  const T = (run.accuracy[0] as readonly number[]).length;
  if (run.taskNames.length !== T)
    throw new RangeError(`saveResults: ${run.taskNames.length} task names for ${T} tasks`);
  const metrics = computeMetrics(run.accuracy, run.baseline);
  let parts: RunNameParts | undefined;
  try {
    parts = parseRunName(run.runName);
  } catch {
    parts = undefined;
  }
  const doc = {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    runName: run.runName,
    parts: parts ?? null,
    taskNames: run.taskNames,
    accuracy: run.accuracy.map((row) => row.map(nanToNull)),
    baseline: run.baseline === undefined ? null : run.baseline.map(nanToNull),
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, nanToNull(v)])),
    config: run.config ?? null,
    curves: run.curves ?? null,
    savedAt: new Date().toISOString(),
  };
  const d = danfo();
  writeFileAtomic(
    path.join(dir, 'accuracy.csv'),
    d.toCSV(accuracyDataFrame(run.accuracy, run.taskNames)) as string,
  );
  writeFileAtomic(
    path.join(dir, 'metrics.csv'),
    d.toCSV(metricsDataFrame([{ run: run.runName, ...metrics }])) as string,
  );
  writeFileAtomic(path.join(dir, 'results.json'), JSON.stringify(doc, null, 1));
  return dir;
}

/** Loads a run saved by {@link saveResults}; clear errors for missing or corrupt files. */
export function loadResults(name: string, opts: { readonly root?: string } = {}): RunResults {
  const dir = resultsDir(name, opts.root);
  const file = path.join(dir, 'results.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ResultsError(
        file,
        `no results for run ${name}; run the experiment that writes them (or check the name and ` +
          `the results folder ${path.dirname(dir)})`,
      );
    }
    throw new ResultsError(file, `cannot read: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ResultsError(
      file,
      `not valid JSON (${(err as Error).message}); the file is corrupt — ` +
        'delete the run folder and rerun it',
    );
  }
  const bad = (why: string): never => {
    throw new ResultsError(
      file,
      `${why}; the file is corrupt or from another program — delete the run folder and rerun it`,
    );
  };
  if (typeof doc !== 'object' || doc === null) bad('not an object');
  if (doc.format !== RESULTS_FORMAT)
    bad(`format is ${JSON.stringify(doc.format)}, expected "${RESULTS_FORMAT}"`);
  if (doc.version !== RESULTS_VERSION)
    bad(`version ${String(doc.version)} is not supported (this code reads ${RESULTS_VERSION})`);
  if (doc.runName !== name) bad(`it holds run ${JSON.stringify(doc.runName)}, not ${name}`);
  if (!Array.isArray(doc.accuracy) || !(doc.accuracy as unknown[]).every((r) => Array.isArray(r)))
    bad('accuracy is not a matrix');
  const accuracy: AccuracyMatrix = Object.freeze(
    (doc.accuracy as unknown[][]).map((r) => Object.freeze(r.map(nullToNaN))),
  );
  try {
    checkAccuracyMatrix(accuracy, 'accuracy');
  } catch (err) {
    bad((err as Error).message);
  }
  if (
    !Array.isArray(doc.taskNames) ||
    !(doc.taskNames as unknown[]).every((n) => typeof n === 'string')
  )
    bad('taskNames is not a list of names');
  const T = (accuracy[0] as readonly number[]).length;
  if ((doc.taskNames as string[]).length !== T)
    bad(`${(doc.taskNames as string[]).length} task names for ${T} tasks`);
  let baseline: number[] | undefined;
  if (doc.baseline !== null && doc.baseline !== undefined) {
    if (!Array.isArray(doc.baseline) || doc.baseline.length !== T)
      bad('baseline is not one accuracy per task');
    baseline = (doc.baseline as unknown[]).map(nullToNaN);
  }
  const metrics = computeMetrics(accuracy, baseline);
  return Object.freeze({
    runName: name,
    ...(doc.parts !== null && doc.parts !== undefined ? { parts: doc.parts as RunNameParts } : {}),
    taskNames: Object.freeze([...(doc.taskNames as string[])]),
    accuracy,
    ...(baseline !== undefined ? { baseline: Object.freeze(baseline) } : {}),
    metrics,
    ...(doc.config !== null && doc.config !== undefined ? { config: doc.config as Json } : {}),
    ...(doc.curves !== null && doc.curves !== undefined
      ? { curves: doc.curves as Record<string, (number | null)[]> }
      : {}),
    savedAt: String(doc.savedAt),
  });
}

/** Names of the runs saved under `root` (folders holding results.json), sorted. */
export function listResults(root: string = defaultResultsRoot()): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter(
      (e) =>
        e.isDirectory() &&
        !e.name.startsWith('.') &&
        fs.existsSync(path.join(root, e.name, 'results.json')),
    )
    .map((e) => e.name)
    .sort();
}
