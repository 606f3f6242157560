/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) with parameter groups, each with its own
 * learning-rate multiplier and weight decay, and a global gradient-norm clip. tfjs has neither
 * AdamW nor per-group learning rates; this is the kit's (small, tested against a hand-computed step).
 *
 *   m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
 *   θ ← θ − lr·wd·θ − lr·(m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + ε)        (PyTorch's order: decay first)
 */
import * as tf from '@tensorflow/tfjs';

/** A non-trainable zero variable shaped like `v` (the initial tensor is disposed, not leaked). */
function zerosVariable(v: tf.Variable): tf.Variable {
  const z = tf.zerosLike(v);
  const out = tf.variable(z, false);
  z.dispose();
  return out;
}

export interface ParamGroup {
  name: string;
  /** Variables by full name. */
  vars: [string, tf.Variable][];
  /** Multiplier of the base learning rate (CoPRS: policy 1, heatmap head 25, prompt encoder 10, mask decoder 5). */
  lrScale?: number;
  weightDecay?: number;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Global gradient-norm clip (over all groups); 0 or undefined disables. */
  clipNorm?: number;
}

export interface StepStats {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The clip factor applied (1 when not clipped). */
  clipScale: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(readonly groups: ParamGroup[], opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.clipNorm = opts.clipNorm ?? 0;
    const seen = new Set<string>();
    for (const g of groups) {
      for (const [name, v] of g.vars) {
        if (seen.has(name)) throw new Error(`AdamW: parameter "${name}" is in more than one group`);
        seen.add(name);
        this.m.set(name, zerosVariable(v));
        this.v.set(name, zerosVariable(v));
      }
    }
  }

  get step(): number {
    return this.t;
  }

  /**
   * One update with the gradients by parameter name (missing names are skipped: frozen or unused).
   * `lr` is the base learning rate; each group scales it. Non-finite gradients throw before any
   * variable changes.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number): StepStats {
    const names = this.groups.flatMap((g) => g.vars.map(([n]) => n)).filter((n) => grads[n] != null);
    const sq = tf.tidy(() => tf.addN(names.map((n) => grads[n].square().sum())).dataSync()[0]);
    const gradNorm = Math.sqrt(names.length > 0 ? sq : 0);
    if (!Number.isFinite(gradNorm)) {
      const bad = names.filter((n) => !tf.tidy(() => tf.isFinite(grads[n]).all().dataSync()[0]));
      throw new Error(`AdamW: non-finite gradient (norm ${gradNorm}) in ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', ...' : ''}; no weights were changed`);
    }
    const clipScale = this.clipNorm > 0 && gradNorm > this.clipNorm ? this.clipNorm / (gradNorm + 1e-6) : 1;
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    for (const g of this.groups) {
      const glr = lr * (g.lrScale ?? 1);
      const wd = g.weightDecay ?? this.weightDecay;
      for (const [name, p] of g.vars) {
        const grad = grads[name];
        if (grad == null) continue;
        tf.tidy(() => {
          const gr = clipScale === 1 ? grad : grad.mul(clipScale);
          const m = this.m.get(name)!;
          const v = this.v.get(name)!;
          const m1 = m.mul(this.beta1).add(gr.mul(1 - this.beta1));
          const v1 = v.mul(this.beta2).add(gr.square().mul(1 - this.beta2));
          m.assign(m1);
          v.assign(v1);
          const update = m1.div(bc1).div(v1.div(bc2).sqrt().add(this.eps));
          p.assign(p.mul(1 - glr * wd).sub(update.mul(glr)));
        });
      }
    }
    return { gradNorm, clipScale };
  }

  /** Moments and step, for a checkpoint. */
  stateTensors(): { step: number; tensors: [string, tf.Tensor][] } {
    const tensors: [string, tf.Tensor][] = [];
    for (const [n, m] of this.m) tensors.push([`adamw.m.${n}`, m]);
    for (const [n, v] of this.v) tensors.push([`adamw.v.${n}`, v]);
    return { step: this.t, tensors };
  }

  /** Restore from `stateTensors()` output (by name; shapes must match). */
  loadState(step: number, tensors: Map<string, tf.Tensor>): void {
    for (const [kind, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [n, variable] of map) {
        const t = tensors.get(`adamw.${kind}.${n}`);
        if (!t) throw new Error(`optimizer state is missing adamw.${kind}.${n}`);
        if (t.shape.join(',') !== variable.shape.join(',')) throw new Error(`optimizer state adamw.${kind}.${n}: shape [${t.shape}] differs from the parameter's [${variable.shape}]`);
        variable.assign(t);
      }
    }
    this.t = step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}
