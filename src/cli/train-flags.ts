/**
 * Flag handling the three `coprs train …` commands share: the required --out, --preset, --config
 * (a JSON file of overrides), --steps and --seed. Every bad value is a UsageError naming it.
 */
import * as fs from 'fs';
import { parsePresetName, type PresetName } from '../config/preset';
import { Flags, UsageError } from './args';

/** --out DIR, required; `what` says what goes there. */
export function requireOut(flags: Flags, what: string): string {
  const out = flags.out;
  if (typeof out !== 'string' || out.trim() === '') throw new UsageError(`--out DIR is required (${what})`);
  return out;
}

/** --preset (default small). */
export function presetFlag(flags: Flags): PresetName {
  try {
    return parsePresetName(flags.preset as string | undefined);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The overrides in the --config JSON file ({} without the flag). */
export function configFileOverrides(flags: Flags): Record<string, unknown> {
  if (typeof flags.config !== 'string') return {};
  const file = flags.config;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${file}: cannot read it (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Put --steps (a positive integer) and, where the command has it, --seed (an integer) into `overrides`. */
export function applyStepsAndSeed(flags: Flags, overrides: Record<string, unknown>): void {
  if (flags.steps !== undefined) {
    if (!Number.isInteger(flags.steps) || (flags.steps as number) < 1) throw new UsageError(`--steps expects a positive integer, got ${flags.steps}`);
    overrides.steps = flags.steps;
  }
  if (flags.seed !== undefined) {
    if (!Number.isInteger(flags.seed)) throw new UsageError(`--seed expects an integer, got ${flags.seed}`);
    overrides.seed = flags.seed;
  }
}
