/**
 * Tests of lib/notebook/references.ts: every published number carries its source and what its ±
 * means, the tables the notebooks print are rows of the full tables, and the tables agree with the
 * conclusions the papers state in words. No tensors; the file runs in well under a second.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  KUC2477_DEFAULTS,
  PERMUTED_MNIST_DOMAIN_IL_REFERENCES,
  PERMUTED_MNIST_REFERENCES,
  REFERENCE_METHODS,
  type ReferenceResult,
  SPLIT_MNIST_2019_QUOTED_REFERENCES,
  SPLIT_MNIST_CLASS_IL_REFERENCES,
  SPLIT_MNIST_REFERENCES,
} from '../lib/notebook/references';
import * as experiments from '../lib/notebook/experiments';
import * as domains from '../lib/notebook/domains';

const BY_SCENARIO = {
  SPLIT_MNIST_REFERENCES,
  PERMUTED_MNIST_REFERENCES,
  SPLIT_MNIST_2019_QUOTED_REFERENCES,
};
const LISTS = { SPLIT_MNIST_CLASS_IL_REFERENCES, PERMUTED_MNIST_DOMAIN_IL_REFERENCES };

function allEntries(): [string, ReferenceResult][] {
  const out: [string, ReferenceResult][] = [];
  for (const [name, table] of Object.entries(BY_SCENARIO))
    for (const [scenario, rows] of Object.entries(table))
      for (const r of rows) out.push([`${name}.${scenario} ${r.method}`, r]);
  for (const [name, rows] of Object.entries(LISTS))
    for (const r of rows) out.push([`${name} ${r.method}`, r]);
  return out;
}

const find = (rows: readonly ReferenceResult[], method: string): ReferenceResult => {
  const r = rows.find((x) => x.method === method);
  assert.ok(r, `no row '${method}'`);
  return r;
};

test('every published number has a source (paper, table, arXiv id) and says what its ± is', () => {
  const entries = allEntries();
  assert.ok(entries.length > 60, `only ${entries.length} entries`);
  for (const [where, r] of entries) {
    assert.ok(r.source.trim().length > 0, `${where}: no source`);
    assert.match(r.source, /arXiv:\d{4}\.\d{5}/, `${where}: the source names no arXiv id`);
    assert.match(r.source, /Table \d|table/, `${where}: the source names no table`);
    assert.ok(r.spreadKind.trim().length > 0, `${where}: no spreadKind`);
    assert.ok(r.accuracy > 0 && r.accuracy <= 100, `${where}: accuracy ${r.accuracy} not in %`);
    assert.ok(r.spread === null || (r.spread >= 0 && r.spread < 5), `${where}: spread ${r.spread}`);
    assert.ok(Object.isFrozen(r), `${where}: not frozen`);
  }
});

test('the 2018 tables say SEM over 20 seeds; the quoted 2019 rows say their ± is unchecked', () => {
  for (const table of [SPLIT_MNIST_REFERENCES, PERMUTED_MNIST_REFERENCES])
    for (const rows of Object.values(table))
      for (const r of rows) {
        assert.match(r.source, /1809\.10635.*Table [34].*SEM over 20 seeds/);
        assert.match(r.spreadKind, /^SEM over 20 runs/);
      }
  for (const rows of Object.values(SPLIT_MNIST_2019_QUOTED_REFERENCES))
    for (const r of rows) {
      assert.match(r.source, /1904\.07734v1.*quotation/);
      assert.match(r.spreadKind, /not in the text read/);
    }
});

test('the lists the notebooks print are rows of the full tables, in their order', () => {
  const order = [
    REFERENCE_METHODS.none,
    REFERENCE_METHODS.dgr,
    REFERENCE_METHODS.dgrDistill,
    REFERENCE_METHODS.offline,
  ];
  assert.deepEqual(
    SPLIT_MNIST_CLASS_IL_REFERENCES.map((r) => r.method),
    order,
  );
  assert.deepEqual(
    PERMUTED_MNIST_DOMAIN_IL_REFERENCES.map((r) => r.method),
    order,
  );
  for (const r of SPLIT_MNIST_CLASS_IL_REFERENCES)
    assert.equal(r, find(SPLIT_MNIST_REFERENCES.class, r.method));
  for (const r of PERMUTED_MNIST_DOMAIN_IL_REFERENCES)
    assert.equal(r, find(PERMUTED_MNIST_REFERENCES.domain, r.method));
  // notebook 07 compares its run with this row
  assert.ok(SPLIT_MNIST_CLASS_IL_REFERENCES.some((r) => r.method === 'DGR + distill'));
  // the older import paths still give the same objects
  assert.equal(experiments.SPLIT_MNIST_CLASS_IL_REFERENCES, SPLIT_MNIST_CLASS_IL_REFERENCES);
  assert.equal(domains.PERMUTED_MNIST_DOMAIN_IL_REFERENCES, PERMUTED_MNIST_DOMAIN_IL_REFERENCES);
});

test('XdG only in task-IL, iCaRL only in class-IL, every 2018 method in every other column', () => {
  for (const table of [SPLIT_MNIST_REFERENCES, PERMUTED_MNIST_REFERENCES]) {
    assert.equal(table.task.length, 10);
    assert.equal(table.domain.length, 9);
    assert.equal(table.class.length, 9);
    assert.ok(table.task.some((r) => r.method === 'XdG'));
    assert.ok(!table.domain.some((r) => r.method === 'XdG'));
    assert.ok(!table.class.some((r) => r.method === 'XdG'));
  }
  assert.deepEqual(
    SPLIT_MNIST_2019_QUOTED_REFERENCES.class.map((r) => r.method),
    ['EWC', 'DGR', 'DGR + distill', 'iCaRL (budget 2000)'],
  );
  assert.equal(SPLIT_MNIST_2019_QUOTED_REFERENCES.task.length, 3);
});

test('the tables agree with what the 2018 paper concludes in words (§5)', () => {
  // "only the methods using generative replay retained good performance (above 90%) in the
  // incremental class learning scenario, and DGR+distill outperformed DGR in all scenarios"
  for (const table of [SPLIT_MNIST_REFERENCES, PERMUTED_MNIST_REFERENCES]) {
    for (const r of table.class) {
      const replay = ['DGR', 'DGR + distill', 'RtF', REFERENCE_METHODS.offline].includes(r.method);
      assert.equal(r.accuracy > 90, replay, `${r.method}: ${r.accuracy}`);
    }
    for (const rows of Object.values(table))
      assert.ok(find(rows, 'DGR + distill').accuracy > find(rows, 'DGR').accuracy);
  }
  // "with the split MNIST protocol, EWC and online EWC barely outperformed fine-tuning"
  const none = find(SPLIT_MNIST_REFERENCES.class, REFERENCE_METHODS.none).accuracy;
  assert.ok(find(SPLIT_MNIST_REFERENCES.class, 'EWC').accuracy - none < 1);
  // "While LwF had some success with the split MNIST protocol, this method did not work with the
  // permuted MNIST protocol": below fine-tuning in task- and domain-IL there
  for (const s of ['task', 'domain'] as const)
    assert.ok(
      find(PERMUTED_MNIST_REFERENCES[s], 'LwF').accuracy <
        find(PERMUTED_MNIST_REFERENCES[s], REFERENCE_METHODS.none).accuracy,
    );
});

test('KUC2477_DEFAULTS: frozen, sourced, and the mixed-loss weight is a proportion', () => {
  assert.ok(Object.isFrozen(KUC2477_DEFAULTS) && Object.isFrozen(KUC2477_DEFAULTS.adam));
  assert.match(KUC2477_DEFAULTS.source, /kuc2477\/pytorch-deep-generative-replay @ [0-9a-f]{7}/);
  assert.ok(KUC2477_DEFAULTS.importanceOfNewTask > 0 && KUC2477_DEFAULTS.importanceOfNewTask < 1);
  assert.equal(KUC2477_DEFAULTS.replayTargets, 'hard');
});
