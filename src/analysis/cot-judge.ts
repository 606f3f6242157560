/**
 * A programmatic CoT-consistency judge for ShapeWorld-RS (the paper scores chains of thought with an
 * external model on four weighted dimensions; the kit scores them against the scene graph with
 * documented rules):
 *
 *   logical correctness   0.3  the conclusion names the ground-truth target: 1 if the concluded
 *                              object description (size, color, shape words) fits the target and no
 *                              other object; 0.5 if it fits the target and others too; 0 otherwise.
 *   task relevance        0.2  the share of the query's key words (colors, shapes, sizes, spatial and
 *                              superlative words, world-knowledge cues) that the chain of thought
 *                              also uses; 1 when the query has none.
 *   visual consistency    0.3  the share of object descriptions in the chain of thought ("a small
 *                              green triangle") that fit at least one object in the scene; 0 when it
 *                              describes no object.
 *   localization accuracy 0.2  1 if the position phrase after the concluded object ("at the top",
 *                              "in the bottom left") is the target's 3×3-grid position, else 0 (also 0
 *                              when no position is stated).
 *
 * The conclusion is the object description after the last "target is"; without one, the last object
 * description in the text. Descriptions are runs of size? color? shape words (singular nouns).
 */
import type { Sample } from '../data/sample';
import { shapeWorldMeta } from '../data/shapeworld/index';
import type { SceneObject } from '../data/shapeworld/scene';
import { COLORS, SHAPES, SIZE_WORDS, POSITIONS } from '../data/shapeworld/vocab';

export const JUDGE_WEIGHTS = { logical: 0.3, relevance: 0.2, visual: 0.3, localization: 0.2 } as const;

export interface Mention {
  size?: string;
  color?: string;
  shape: string;
  /** Position words stated right after it ("top left"), if any. */
  position?: string;
  /** Character offset in the text. */
  at: number;
}

export interface JudgeScores {
  logical: number;
  relevance: number;
  visual: number;
  localization: number;
  /** Σ weight · score, in [0, 1]. */
  total: number;
  conclusion: Mention | null;
  mentions: number;
}

const SIZE_OF: Record<string, string> = Object.fromEntries(
  Object.entries(SIZE_WORDS).flatMap(([size, words]) => words.map((w) => [w, size])),
);
const COLOR_SET = new Set<string>(COLORS);
const SHAPE_SET = new Set<string>(SHAPES);
const POSITION_RE = new RegExp(`^\\s*(?:in|at|on) the (${[...POSITIONS].sort((a, b) => b.length - a.length).join('|')})\\b`);

const KEY_WORDS = new Set<string>([
  ...COLORS, ...SHAPES, ...Object.keys(SIZE_OF),
  'left', 'right', 'top', 'bottom', 'above', 'below', 'under', 'over', 'next', 'beside', 'center', 'middle',
  'largest', 'smallest', 'biggest', 'leftmost', 'rightmost', 'topmost', 'bottommost', 'highest', 'lowest',
  'not', 'neither', 'nor', 'only', 'twice', 'once', 'three', 'four', 'corners', 'roll', 'sky', 'night', 'grass', 'banana',
  'grapes', 'pumpkin', 'fire', 'honeycomb', 'pizza', 'roof', 'block', 'stack', 'warm', 'cool',
]);

/** Lower-cased words of a text (letters, digits and hyphens). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9-]+/g) ?? [];
}

/** Every object description in the text, in order. */
export function findMentions(text: string): Mention[] {
  const out: Mention[] = [];
  const re = /[A-Za-z-]+/g;
  const toks: { w: string; at: number; end: number }[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) toks.push({ w: m[0].toLowerCase(), at: m.index, end: m.index + m[0].length });
  for (let i = 0; i < toks.length; i++) {
    if (!SHAPE_SET.has(toks[i].w)) continue;
    const mention: Mention = { shape: toks[i].w, at: toks[i].at };
    let j = i - 1;
    if (j >= 0 && COLOR_SET.has(toks[j].w)) mention.color = toks[j--].w;
    if (j >= 0 && SIZE_OF[toks[j].w]) {
      mention.size = SIZE_OF[toks[j].w];
      mention.at = toks[j].at;
    } else if (mention.color) {
      mention.at = toks[j + 1].at;
    }
    const pos = POSITION_RE.exec(text.slice(toks[i].end));
    if (pos) mention.position = pos[1];
    out.push(mention);
  }
  return out;
}

const fits = (m: Mention, o: SceneObject) => m.shape === o.shape && (!m.color || m.color === o.color) && (!m.size || m.size === o.size);

export function judgeCoT(cot: string, sample: Sample): JudgeScores {
  const meta = shapeWorldMeta(sample);
  const objects = meta.scene.objects;
  const targets = objects.filter((o) => meta.targetIds.includes(o.id));
  const mentions = findMentions(cot);
  const lastTarget = cot.toLowerCase().lastIndexOf('target is');
  const conclusion = (lastTarget >= 0 ? mentions.find((m) => m.at > lastTarget) : undefined) ?? mentions[mentions.length - 1] ?? null;

  let logical = 0;
  if (conclusion) {
    const matches = objects.filter((o) => fits(conclusion, o));
    const hitsTarget = matches.some((o) => meta.targetIds.includes(o.id));
    logical = hitsTarget ? (matches.length === 1 ? 1 : 0.5) : 0;
  }
  const queryKeys = [...new Set(words(sample.query).filter((w) => KEY_WORDS.has(w)))];
  const cotWords = new Set(words(cot));
  const relevance = queryKeys.length === 0 ? 1 : queryKeys.filter((w) => cotWords.has(w)).length / queryKeys.length;
  const described = mentions.filter((m) => m.color || m.size);
  const visual = described.length === 0 ? 0 : described.filter((m) => objects.some((o) => fits(m, o))).length / described.length;
  const localization = conclusion?.position && targets.some((t) => t.position === conclusion.position) ? 1 : 0;
  const w = JUDGE_WEIGHTS;
  const total = w.logical * logical + w.relevance * relevance + w.visual * visual + w.localization * localization;
  return { logical, relevance, visual, localization, total, conclusion, mentions: mentions.length };
}
