/**
 * Named parameters with seeded initialization. Modules create their variables through a `Params`
 * scope ("decoder.layers.0.attn.q.w"), so a model's weights are one flat, ordered map that a
 * checkpoint writes and reads by name, an optimizer groups by prefix, and a notebook counts.
 * Initial values come from the kit's integer RNG, so the same seed gives the same weights on every
 * backend.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, deriveSeed } from '../util/rng';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; limit: number }
  /** Normal(0, std), truncated at 2 std (Box-Muller from the seeded RNG). */
  | { kind: 'normal'; std: number };

export const zeros: Init = { kind: 'zeros' };
export const ones: Init = { kind: 'ones' };
export const constant = (value: number): Init => ({ kind: 'constant', value });
export const normal = (std: number): Init => ({ kind: 'normal', std });
export const uniform = (limit: number): Init => ({ kind: 'uniform', limit });
/** PyTorch's default for Linear/Conv weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export const kaimingUniform = (fanIn: number): Init => uniform(1 / Math.sqrt(Math.max(1, fanIn)));

function initValues(init: Init, size: number, rng: Rng): Float32Array {
  const v = new Float32Array(size);
  switch (init.kind) {
    case 'zeros':
      return v;
    case 'ones':
      return v.fill(1);
    case 'constant':
      return v.fill(init.value);
    case 'uniform':
      for (let i = 0; i < size; i++) v[i] = rng.uniform(-init.limit, init.limit);
      return v;
    case 'normal':
      for (let i = 0; i < size; i++) {
        let z = rng.normal();
        while (Math.abs(z) > 2) z = rng.normal();
        v[i] = z * init.std;
      }
      return v;
    default: {
      const never: never = init;
      throw new Error(`unknown init ${JSON.stringify(never)}`);
    }
  }
}

/** The shared store behind every scope of one model. */
class Store {
  readonly vars = new Map<string, tf.Variable>();
  constructor(readonly seed: number) {}
}

export class Params {
  private constructor(private readonly store: Store, readonly prefix: string) {}

  /** A new, empty parameter set; `seed` fixes every initial value. */
  static create(seed: number): Params {
    return new Params(new Store(seed), '');
  }

  /** A child scope: names created through it are prefixed with `name.`. */
  scope(name: string | number): Params {
    return new Params(this.store, this.join(String(name)));
  }

  private join(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Create a variable; its initial values depend only on the model seed and its full name. */
  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    const full = this.join(name);
    if (this.store.vars.has(full)) throw new Error(`parameter "${full}" already exists`);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = initValues(init, size, new Rng(deriveSeed(this.store.seed, full)));
    const initial = tf.tensor(values, shape, 'float32');
    const v = tf.variable(initial, trainable, `${full}#${variableCounter++}`);
    initial.dispose(); // the variable holds its own copy
    this.store.vars.set(full, v);
    return v;
  }

  /** Every variable by full name, in creation order (optionally only those under `prefix`). */
  entries(prefix = ''): [string, tf.Variable][] {
    return [...this.store.vars.entries()].filter(([k]) => prefix === '' || k === prefix || k.startsWith(`${prefix}.`));
  }

  get(name: string): tf.Variable {
    const v = this.store.vars.get(name);
    if (!v) throw new Error(`no parameter named "${name}"`);
    return v;
  }

  has(name: string): boolean {
    return this.store.vars.has(name);
  }

  /** Number of scalars (optionally under a prefix). */
  count(prefix = ''): number {
    return this.entries(prefix).reduce((n, [, v]) => n + v.size, 0);
  }

  /** Mark variables under `prefix` trainable or frozen. */
  setTrainable(trainable: boolean, prefix = ''): void {
    for (const [, v] of this.entries(prefix)) v.trainable = trainable;
  }

  /** Dispose every variable of the model. */
  dispose(): void {
    for (const v of this.store.vars.values()) v.dispose();
    this.store.vars.clear();
  }
}

let variableCounter = 0;
