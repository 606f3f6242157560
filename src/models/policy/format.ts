/**
 * The CoPRS format reward (implemented once, in src/rewards/format.ts) as the policy evaluation
 * reads it, and the chain-of-thought conclusion check.
 *
 * Format reward (paper, appendix B.2; DESIGN §1):
 *   0    unless exactly one `<think>`, exactly one `</think>` after it with non-empty (non-whitespace)
 *        text between them, and exactly one `<REF_POS>`, after `</think>`;
 *   1.0  otherwise, lowered to 0.9 if the think text is longer than 2048 characters, or any
 *        non-whitespace text stands before `<think>`, or after `<REF_POS>` (paper), or — with the
 *        official code's rule set — more than 10 words stand between `</think>` and `<REF_POS>`.
 * The paper's five canonical cases: invalid 0.0, clean 1.0, long think 0.9, text before 0.9, text
 * after 0.9.
 */
import type { SceneGraph, SceneObject } from '../../data/shapeworld/index';
import { COLORS, POSITIONS, SHAPES } from '../../data/shapeworld/index';
import { checkFormat as checkRewardFormat } from '../../rewards/format';
import type { FormatRules } from '../../rewards/format';

export type { FormatRules };

export interface FormatCheck {
  reward: number;
  /** Why the reward is below 1 (empty when it is 1). */
  reasons: string[];
  /** The text between `<think>` and `</think>`, trimmed (null when the structure is invalid). */
  think: string | null;
}

/** The format reward of one completion, with the reasons for any deduction (the reward registry's rules). */
export function checkFormat(completion: string, rules: FormatRules = 'paper'): FormatCheck {
  const c = checkRewardFormat(completion, rules);
  return { reward: c.reward, reasons: c.faults, think: c.valid ? c.think ?? null : null };
}

/** The format reward (0, 0.9 or 1.0) of one completion. */
export function formatReward(completion: string, rules: FormatRules = 'paper'): number {
  return checkFormat(completion, rules).reward;
}

/** The object a chain of thought concludes with: "So the target is the <size> <color> <shape> <position>." */
export interface Conclusion {
  size: string;
  color: string;
  shape: string;
  /** Position word (3×3 grid), or null when the phrase has none. */
  position: string | null;
}

const SIZE_ALIASES: Record<string, string> = { small: 'small', little: 'small', 'medium-sized': 'medium', medium: 'medium', large: 'large', big: 'large' };
const SHAPE_NOUNS = new Set<string>(SHAPES);

/**
 * Parse the LAST "so the target is the …" sentence of a text (case-insensitive). Returns null when
 * there is none or its words are not a size, a color and a shape noun (in that order), optionally
 * followed by a position phrase ("in the top left", "at the top", "on the left", "in the center").
 */
export function parseConclusion(text: string): Conclusion | null {
  const lower = text.toLowerCase();
  const at = lower.lastIndexOf('so the target is the ');
  if (at < 0) return null;
  const rest = lower.slice(at + 'so the target is the '.length);
  const end = rest.search(/[.<]/);
  const words = (end >= 0 ? rest.slice(0, end) : rest).trim().split(/\s+/);
  if (words.length < 3) return null;
  const size = SIZE_ALIASES[words[0]];
  const color = words[1];
  const shape = words[2];
  if (!size || !(COLORS as readonly string[]).includes(color) || !SHAPE_NOUNS.has(shape)) return null;
  const tail = words.slice(3);
  if (tail.length === 0) return { size, color, shape, position: null };
  if (tail.length < 3 || !['in', 'at', 'on'].includes(tail[0]) || tail[1] !== 'the') return null;
  const position = tail.slice(2).join(' ');
  if (!(POSITIONS as readonly string[]).includes(position)) return null;
  return { size, color, shape, position };
}

const matchesAttributes = (o: SceneObject, c: Conclusion): boolean => o.size === c.size && o.color === c.color && o.shape === c.shape;

/**
 * True when a conclusion identifies exactly the target: the target has its size, color and shape,
 * and no other object does — or, where several objects share them, its position word singles the
 * target out (position words count only where they are needed to disambiguate).
 */
export function conclusionHitsTarget(c: Conclusion | null, scene: SceneGraph, targetIds: readonly number[]): boolean {
  if (!c || targetIds.length !== 1) return false;
  const target = targetIds[0];
  const same = scene.objects.filter((o) => matchesAttributes(o, c));
  if (!same.some((o) => o.id === target)) return false;
  if (same.length === 1) return true;
  if (c.position == null) return false;
  const placed = same.filter((o) => o.position === c.position);
  return placed.length === 1 && placed[0].id === target;
}
