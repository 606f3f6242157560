/**
 * The ablation registry: a named ablation is a grid of points, each a set of stage-3 config
 * overrides (and, for the size ablations, which stage-1 mini-SAM and stage-2 policy it starts
 * from). The built-in ablations (ablations.ts) are registered here; another module adds one with
 * `registerAblation(name, def)` (e.g. a `paradigm` ablation whose points train other paradigms:
 * it gives its own `runPoint`).
 */
import type { PresetName } from '../config/preset';
import type { SamSize } from '../models/sam/config';
import type { CoprsTrainConfig } from '../train/coprs/config';
import type { SplitMetrics } from './results';
import { BUILTIN_ABLATIONS } from './ablations';

/** One grid point of an ablation. */
export interface SweepPoint {
  /** Folder-safe id, unique within the ablation (e.g. "G-8"); the run folder is DIR/<id>_s<seed>. */
  id: string;
  /** Label on figures and tables (e.g. "G = 8"). */
  label: string;
  /** The x value: a number (G, mask weight) or a category (mode, loss combination, size). */
  value: number | string;
  /** Stage-3 config overrides, merged over the sweep's base overrides. */
  overrides: Record<string, unknown>;
  /** The stage-1 mini-SAM size and the stage-2 policy size this point starts from (default: the sweep preset's). */
  parts?: { sam?: SamSize; policy?: PresetName };
  /** The paper's (and the kit's) default setting: bold on figures. */
  isDefault?: boolean;
}

/** What an ablation's grid is built from. */
export interface AblationContext {
  /** The sweep preset (tiny, small, base). */
  preset: PresetName;
  /** The stage-3 config every point starts from: the preset's, with the sweep's base overrides. */
  base: CoprsTrainConfig;
  /** Ablation-specific options (e.g. group-size's `budget`). */
  options: Record<string, unknown>;
}

/** What running one point gives (the default runner: trainCoprs + evaluateCoprs). */
export interface PointOutcome {
  /** Evaluation per split key ("refshapes/val", ...). */
  eval: Record<string, SplitMetrics>;
  /** Columns of the results CSV this point adds (numbers, strings, booleans or null). */
  columns: Record<string, number | string | boolean | null>;
}

/** Everything a custom point runner gets. */
export interface PointRunContext {
  ablation: string;
  preset: PresetName;
  point: SweepPoint;
  seed: number;
  /** The point's run folder (DIR/<id>_s<seed>/run); resume from DIR/<id>_s<seed>/run/latest. */
  runDir: string;
  /** The resolved stage-3 config of the point. */
  config: CoprsTrainConfig;
  /** Stage-1/2 checkpoint folders for the point (trained or reused by the sweep). */
  parts: { sam: string; policy: string };
  /** Evaluation splits and the per-split sample limit (null: the whole split). */
  evalSplits: [string, string][];
  evalLimit: number | null;
  log: (line: string) => void;
}

export interface AblationDef {
  /** One-line description (figure titles, `--help`). */
  title: string;
  /** Which paper figure/table it reproduces. */
  paper: string;
  /** Axis title of the swept value. */
  axis: string;
  /** The grid (in order). */
  points(ctx: AblationContext): SweepPoint[];
  /** Report samples-to-convergence (group-size). */
  convergence?: boolean;
  /** Option names this ablation accepts (`--option k=v`), with a help line each. */
  options?: Record<string, string>;
  /** Replace the default point runner (stage-3 trainCoprs + evaluateCoprs), e.g. for other paradigms. */
  runPoint?: (ctx: PointRunContext) => Promise<PointOutcome>;
}

const REGISTRY = new Map<string, AblationDef>(Object.entries(BUILTIN_ABLATIONS));

const NAME_RE = /^[a-z][a-z0-9-]*$/;

/** Register an ablation under `name` (lower-case, digits and dashes). Registering a name twice is an error. */
export function registerAblation(name: string, def: AblationDef): void {
  if (!NAME_RE.test(name)) throw new Error(`registerAblation: the name must be lower-case letters, digits and dashes (e.g. "paradigm"), got "${name}"`);
  if (REGISTRY.has(name)) throw new Error(`registerAblation: an ablation named "${name}" is already registered`);
  if (typeof def?.points !== 'function') throw new Error(`registerAblation("${name}"): the definition needs a points(ctx) function`);
  REGISTRY.set(name, def);
}

/** The registered ablation names, in registration order. */
export function ablationNames(): string[] {
  return [...REGISTRY.keys()];
}

/** The ablation called `name`; an unknown name is an error that lists the known ones. */
export function getAblation(name: string): AblationDef {
  const def = REGISTRY.get(name);
  if (!def) throw new Error(`unknown ablation "${name}"; known ablations: ${ablationNames().join(', ')}`);
  return def;
}
