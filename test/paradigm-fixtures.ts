/**
 * Shared fixtures of the paradigm tests (not a test file itself): tiny random parts (a one-block
 * mini-SAM S and a tiny policy reading it), a tiny-preset paradigm built on them, and the
 * tensor-leak check every paradigm's step test uses (warm up, record tf.memory().numTensors, run
 * again, assert unchanged). Other paradigms' tests (CoReS, RSVP, CR-Seg) can import these.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { PolicyModel } from '../src/models/policy/model';
import { buildParadigm } from '../src/paradigms/registry';
import type { Paradigm, ParadigmParts } from '../src/paradigms/types';
import { tinySam } from './coprs-fixtures';

export { tmpDir, writeParts } from './coprs-fixtures';

/** Start the wasm backend (call in `before`). */
export async function useWasm(): Promise<void> {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
}

/** Tiny random parts (the paradigm takes ownership). */
export function tinyParts(seed = 3): ParadigmParts {
  const sam = tinySam(seed);
  const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed });
  return { policy, sam, sources: { sam: { kind: 'stub', embedDim: sam.embedDim, gridSize: sam.embedSize, seed: 1 }, policy: null } };
}

/** A tiny-preset paradigm on tiny random parts. */
export function tinyParadigm(name: string, overrides: Record<string, unknown> = {}, seed = 3): Paradigm {
  return buildParadigm(name, { parts: tinyParts(seed), preset: 'tiny', overrides });
}

/** Run `fn` once to warm up, then again and assert that it left no tensors behind. */
export function assertNoLeak(fn: () => unknown, what: string): void {
  fn();
  const n = tf.memory().numTensors;
  fn();
  assert.equal(tf.memory().numTensors, n, `${what} leaves no tensors behind`);
}

/** Snapshot of variables' values (to see what a step changed). */
export const snapshot = (vars: [string, tf.Variable][]): number[][] => vars.map(([, v]) => Array.from(v.dataSync()));
export const changed = (a: number[][], b: number[][]): boolean => a.some((x, i) => x.some((v, j) => v !== b[i][j]));
