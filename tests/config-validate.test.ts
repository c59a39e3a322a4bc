/** validateConfig on bad input: misspelt settings get the nearest valid name; NaN is named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  configWith,
  presets,
  validateConfig,
  type ExperimentConfig,
} from '../lib/engine/config';

const base = presets.splitMnistGR();
const bad = (c: unknown): ExperimentConfig => c as ExperimentConfig;

function rejects(cfg: ExperimentConfig, message: RegExp): void {
  assert.throws(
    () => validateConfig(cfg),
    (e: Error) => {
      assert.ok(e instanceof ConfigError, e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

test('a misspelt or unknown setting is rejected with the nearest valid one', () => {
  rejects(
    configWith(base, bad({ iteration: 5 })),
    /^config\.iteration: unknown setting; did you mean iterations\?/,
  );
  rejects(
    configWith(base, bad({ replay: { ration: 0.5 } })),
    /^config\.replay\.ration: unknown setting; did you mean ratio\?/,
  );
  rejects(
    configWith(base, bad({ solver: { hiden: [10] } })),
    /^config\.solver\.hiden: unknown setting; did you mean hidden\?/,
  );
  rejects(
    configWith(base, bad({ generator: { latnet: 4 } })),
    /config\.generator\.latnet: unknown setting; did you mean latent\?/,
  );
  rejects(
    configWith(base, bad({ solver: { optimizer: { learningRate: 1 } } })),
    /config\.solver\.optimizer\.learningRate: unknown setting/,
  );
  const gan = configWith(presets.permutedMnistDGR(), bad({ generator: { criticStep: 3 } }));
  rejects(gan, /config\.generator\.criticStep: unknown setting; did you mean criticSteps\?/);
  rejects(
    bad({ ...base, zzzz: 1 }),
    /^config\.zzzz: unknown setting \(the settings are: seed, scenario, solver/,
  );
  assert.equal(validateConfig(base), base, 'the presets have no unknown setting');
  for (const p of [
    presets.splitMnistGRDistill(),
    presets.splitMnist('exact'),
    presets.permutedMnistDGR(),
    presets.svhnMnistDGR(),
  ]) {
    validateConfig(p);
  }
});

test('NaN and Infinity are reported by name, not as null', () => {
  const optim = (lr: number) =>
    bad({ ...base, solver: { ...base.solver, optimizer: { ...base.solver.optimizer, lr } } });
  rejects(optim(Number.NaN), /config\.solver\.optimizer\.lr: must be a positive number, got NaN/);
  rejects(optim(Number.POSITIVE_INFINITY), /got Infinity/);
  rejects(
    bad({ ...base, iterations: Number.NaN }),
    /config\.iterations: must be a positive integer, got NaN/,
  );
  rejects(
    bad({ ...base, replay: { ...base.replay, ratio: Number.NaN } }),
    /config\.replay\.ratio: .*got NaN/,
  );
  rejects(
    bad({ ...base, solver: { ...base.solver, hidden: [400, Number.NEGATIVE_INFINITY] } }),
    /config\.solver\.hidden\[1\]: .*got -Infinity/,
  );
  const gan = presets.permutedMnistDGR();
  rejects(
    bad({ ...gan, generator: { ...gan.generator, gpWeight: Number.POSITIVE_INFINITY } }),
    /config\.generator\.gpWeight: .*got Infinity/,
  );
});
