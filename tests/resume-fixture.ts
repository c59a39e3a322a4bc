/** The run of the fault-injection test (tests/resume-faults.test.ts), shared with its child. */
import { configWith, presets, type ExperimentConfig } from '../lib/engine/config';
import type { TaskSequence } from '../lib/engine/types';
import { blobSequence } from './fixtures';

/** Four toy tasks (class-IL). */
export function faultSequence(): TaskSequence {
  return blobSequence({ numTasks: 4, perClass: 16, seed: 123 });
}

/** Generative replay with a small VAE: generator and Adam state go through the checkpoint too. */
export function faultConfig(): ExperimentConfig {
  return configWith(presets.splitMnistGR(), {
    iterations: 25,
    batchSize: 16,
    solver: { hidden: [32] },
    generator: { hidden: [32], latent: 4 },
    replay: { batchSize: 16 },
  });
}
