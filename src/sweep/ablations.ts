/**
 * The built-in ablations (paper §4.4): Fig. 6a–d and the Tables 4–5 analogs. Each is a grid of
 * stage-3 config overrides over the sweep preset's config; everything not named stays as the
 * preset has it, so two points differ only in what the ablation varies.
 *
 * - `group-size` (Fig. 6a): G = 2, 4, 8, 16. The batch must stay a multiple of G. Budget (option
 *   `budget`): `completions` (default, the kit's choice) keeps the completions per step fixed at the
 *   preset's batch rounded up to a multiple of 16 (every G divides it), so every point costs the same
 *   compute per step and larger G means fewer prompts per step; `prompts` keeps the prompts per step
 *   fixed (the paper's setting: a global batch of 16 prompts repeated G times), so the completions
 *   per step grow with G. Reports samples-to-convergence (convergence.ts).
 * - `mode` (Fig. 6b): rl (L_GRPO only), seg (λ_SEG·L_SEG only), combined.
 * - `reward-coef` (Fig. 6c): mask weight w ∈ {0, 0.3, 0.5, 0.7, 1.0}, format weight 1 − w.
 * - `seg-loss` (Fig. 6d): BCE weight 1 and dice/focal combinations. The paper's figure gives the
 *   settings only as a plot; the kit's grid (its own choice of "representative settings", §4.4)
 *   keeps the paper's switch schedule (λ_d, λ_f) = (1.5, 0) → (3, 10) and removes one term at a
 *   time: BCE only; BCE + dice (1.5 → 3); BCE + focal (0 → 10); BCE + dice + focal (the paper's
 *   default); and the official code's ratio (0.8, 0) → (2, 5) on the paper's valid region.
 * - `policy-size` (Table 4 analog): the policy presets tiny / small / base (d 32/128/256, 2/4/6
 *   layers), each cold-started (stage 2) on the same mini-SAM S.
 * - `encoder-size` (Table 5 analog): mini-SAM S / M / L (C = 64 / 96 / 128, the ViT-B/L/H analogs),
 *   each with its own stage-2 policy of the sweep preset's size (a policy reads one frozen encoder).
 *   Both size ablations take `--option sizes=a,b` (a subset of the grid, in grid order): the `base`
 *   policy's stage 2 does not fit the wasm heap (4 GB) at the small budget, so on a CPU the
 *   policy-size sweep runs `sizes=tiny,small`.
 */
import type { PresetName } from '../config/preset';
import type { SamSize } from '../models/sam/config';
import type { AblationContext, AblationDef, SweepPoint } from './registry';

/** The group sizes of Fig. 6a. */
export const GROUP_SIZES = [2, 4, 8, 16] as const;
export const MODES = ['rl', 'seg', 'combined'] as const;
/** Mask-reward weights of Fig. 6c (format weight 1 − w). */
export const MASK_WEIGHTS = [0, 0.3, 0.5, 0.7, 1.0] as const;
export const POLICY_SIZES: PresetName[] = ['tiny', 'small', 'base'];
export const ENCODER_SIZES: SamSize[] = ['S', 'M', 'L'];

/** Fig. 6d's loss combinations: λ_d and λ_f before and after the preset's switch step (BCE weight 1 throughout). */
export const SEG_LOSS_COMBOS: { id: string; label: string; lambdaD: number; lambdaF: number; lambdaDAfter: number; lambdaFAfter: number }[] = [
  { id: 'bce', label: 'BCE', lambdaD: 0, lambdaF: 0, lambdaDAfter: 0, lambdaFAfter: 0 },
  { id: 'bce-dice', label: 'BCE + dice', lambdaD: 1.5, lambdaF: 0, lambdaDAfter: 3, lambdaFAfter: 0 },
  { id: 'bce-focal', label: 'BCE + focal', lambdaD: 0, lambdaF: 0, lambdaDAfter: 0, lambdaFAfter: 10 },
  { id: 'bce-dice-focal', label: 'BCE + dice + focal (paper)', lambdaD: 1.5, lambdaF: 0, lambdaDAfter: 3, lambdaFAfter: 10 },
  { id: 'bce-dice-focal-2-5', label: 'BCE + dice + focal 2:5 (code)', lambdaD: 0.8, lambdaF: 0, lambdaDAfter: 2, lambdaFAfter: 5 },
];

/**
 * The sizes a size ablation runs: all of `grid`, or the subset named by option `sizes` (a string
 * "a,b" or a list), kept in grid order. Unknown or repeated names throw.
 */
export function selectSizes<T extends string>(ablation: string, grid: readonly T[], option: unknown): T[] {
  if (option === undefined) return [...grid];
  const names = (Array.isArray(option) ? option.map(String) : String(option).split(/[,+\s]+/)).map((x) => x.trim()).filter((x) => x.length > 0);
  if (names.length === 0) throw new Error(`${ablation}: option sizes is empty; name one or more of ${grid.join(', ')}`);
  for (const n of names) if (!(grid as readonly string[]).includes(n)) throw new Error(`${ablation}: option sizes names "${n}"; the sizes are ${grid.join(', ')}`);
  if (new Set(names).size !== names.length) throw new Error(`${ablation}: option sizes names a size twice: ${names.join(', ')}`);
  return grid.filter((g) => names.includes(g));
}

/** Round away float noise (1 − 0.7 = 0.30000000000000004). */
const r10 = (x: number) => Number(x.toFixed(10));

export const GROUP_BUDGETS = ['completions', 'prompts'] as const;

/** The group-size grid (see the module comment for the two budgets). */
export function groupSizePoints(ctx: AblationContext): SweepPoint[] {
  const budget = String(ctx.options.budget ?? 'completions');
  if (!(GROUP_BUDGETS as readonly string[]).includes(budget)) throw new Error(`group-size: option budget must be one of ${GROUP_BUDGETS.join(', ')}, got "${budget}"`);
  const maxG = Math.max(...GROUP_SIZES);
  const base = ctx.base;
  const fixedCompletions = Math.ceil(base.batchSize / maxG) * maxG; // every G in the grid divides it
  const prompts = base.batchSize / base.grpo.G; // prompts per step of the preset
  return GROUP_SIZES.map((G) => ({
    id: `G-${G}`,
    label: `G = ${G}`,
    value: G,
    overrides: { grpo: { G }, batchSize: budget === 'completions' ? fixedCompletions : prompts * G },
    isDefault: G === base.grpo.G,
  }));
}

export const BUILTIN_ABLATIONS: Record<string, AblationDef> = {
  'group-size': {
    title: 'GRPO group size G',
    paper: 'Fig. 6a',
    axis: 'group size G',
    convergence: true,
    options: { budget: 'completions (default: completions per step fixed) | prompts (prompts per step fixed, the paper\'s setting)' },
    points: groupSizePoints,
  },
  mode: {
    title: 'training mode',
    paper: 'Fig. 6b',
    axis: 'mode',
    points: (ctx) => MODES.map((mode) => ({ id: mode, label: mode === 'rl' ? 'RL only' : mode === 'seg' ? 'SEG only' : 'combined', value: mode, overrides: { mode }, isDefault: mode === ctx.base.mode })),
  },
  'reward-coef': {
    title: 'mask-reward coefficient (format = 1 − mask)',
    paper: 'Fig. 6c',
    axis: 'mask reward weight',
    points: (ctx) => MASK_WEIGHTS.map((w) => ({
      id: `mask-${w.toFixed(1)}`,
      label: `${w.toFixed(1)} / ${r10(1 - w).toFixed(1)}`,
      value: w,
      // the preset's rewards are mask + format-paper; both are set, so no other weight stays behind
      overrides: { rewards: { mask: w, 'format-paper': r10(1 - w) } },
      isDefault: ctx.base.rewards.mask === w,
    })),
  },
  'seg-loss': {
    title: 'segmentation loss combination (BCE weight 1)',
    paper: 'Fig. 6d',
    axis: 'loss combination',
    points: (ctx) => SEG_LOSS_COMBOS.map((c) => {
      const s = ctx.base.seg;
      return {
        id: c.id,
        label: c.label,
        value: c.label,
        overrides: { seg: { lambdaD: c.lambdaD, lambdaF: c.lambdaF, lambdaDAfter: c.lambdaDAfter, lambdaFAfter: c.lambdaFAfter } },
        isDefault: s.lambdaD === c.lambdaD && s.lambdaF === c.lambdaF && s.lambdaDAfter === c.lambdaDAfter && s.lambdaFAfter === c.lambdaFAfter,
      };
    }),
  },
  'policy-size': {
    title: 'policy size (MLLM backbone analog)',
    paper: 'Table 4',
    axis: 'policy',
    options: { sizes: `a subset of ${POLICY_SIZES.join(', ')}, comma-separated (default all; on a CPU: tiny,small — base does not fit the wasm heap)` },
    points: (ctx) => selectSizes('policy-size', POLICY_SIZES, ctx.options.sizes).map((p) => ({ id: `policy-${p}`, label: `policy ${p}`, value: p, overrides: {}, parts: { sam: 'S', policy: p }, isDefault: p === ctx.preset })),
  },
  'encoder-size': {
    title: 'mini-SAM encoder size (vision backbone analog)',
    paper: 'Table 5',
    axis: 'mini-SAM',
    options: { sizes: `a subset of ${ENCODER_SIZES.join(', ')}, comma-separated (default all)` },
    points: (ctx) => selectSizes('encoder-size', ENCODER_SIZES, ctx.options.sizes).map((s) => ({ id: `encoder-${s}`, label: `mini-SAM ${s}`, value: s, overrides: {}, parts: { sam: s }, isDefault: s === 'S' })),
  },
};
