/**
 * A programmatic CoT-consistency judge for ShapeWorld-RS. The paper (§4.3) scores each chain of
 * thought with an external model (Gemini-2.5-Flash) on four weighted dimensions and reports their
 * weighted average in [0, 1]; the kit scores them against the scene graph and the query program,
 * with these rules (each is the kit's own reading of the dimension's name):
 *
 *   logical correctness   0.3  does the reasoning reach the right target. The conclusion (below) is
 *                              matched against the scene: 1 if the objects it fits are exactly
 *                              target(s); 0.5 if they include a target and other objects (an
 *                              ambiguous conclusion); 0 otherwise. When the description alone fits
 *                              several objects, a stated position narrows them (the GT chains name
 *                              twins as "the large red circle in the top left").
 *   task relevance        0.2  does it talk about what the query asks. The query's concepts are read
 *                              off its program: every filter predicate (color, shape, size, image
 *                              half, world-knowledge fact; a negated one also needs a negation cue
 *                              such as "not" or "leaving out"), spatial relation, superlative,
 *                              count ("exactly twice") and same-attribute step. Score = share of
 *                              concepts the chain names in any of the grammar's wordings (so "the
 *                              bottom shape" restated as "the lower shape" counts); 1 when the
 *                              query has none. Attribute words are a lenient test (a chain that lists
 *                              the scene names most colors); the structural concepts are not.
 *   visual consistency    0.3  do the objects it names exist as it says. Over the distinct object
 *                              descriptions that carry a size or color ("a small green triangle at
 *                              the top"), the share that fit an object of the scene — including the
 *                              stated 3×3-grid position when there is one — plus one check for a
 *                              stated object count ("the picture shows 3 shapes"). 0 when there is
 *                              nothing to check.
 *   localization accuracy 0.2  is the position it states right: 1 if the position phrase right
 *                              after the concluded object ("at the top", "in the bottom left") is a
 *                              target's 3×3-grid position, else 0 (also 0 when none is stated).
 *
 * The conclusion is the first object description after the last "target is"; without one, the last
 * object description in the text. A position is a 3×3-grid phrase right after a description ("in the
 * bottom half" is an image half, not a position). Descriptions are runs of size? color? shape words (singular nouns;
 * plurals such as "the circles" name groups, not objects). Text is compared in lower case. Only the
 * text between `<think>` and `</think>` is judged when a response has them.
 */
import type { Sample } from '../data/sample';
import { shapeWorldMeta } from '../data/shapeworld/index';
import { getFact } from '../data/shapeworld/knowledge';
import { COMPARATIVE_WORDS, REGION_PHRASES, RELATION_PHRASES, SUPERLATIVE_WORDS } from '../data/shapeworld/phrases';
import type { Program } from '../data/shapeworld/program';
import type { SceneObject } from '../data/shapeworld/scene';
import { COLORS, SHAPES, SHAPE_WORDS, SIZE_WORDS, POSITIONS } from '../data/shapeworld/vocab';

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

/** One thing the query asks about, with the wordings that count as naming it. */
export interface Concept {
  key: string;
  forms: string[];
  /** A negated filter: the chain must also contain a negation cue. */
  negated: boolean;
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
  /** The query's concepts and which of them the chain names (task relevance). */
  concepts: { key: string; named: boolean }[];
  /** Visual checks: object descriptions and count claims, and how many hold. */
  visualChecks: { checked: number; held: number };
}

const SIZE_OF: Record<string, string> = Object.fromEntries(
  Object.entries(SIZE_WORDS).flatMap(([size, ws]) => ws.map((w) => [w, size])),
);
const COLOR_SET = new Set<string>(COLORS);
const SHAPE_SET = new Set<string>(SHAPES);
const POSITION_RE = new RegExp(`^\\s*(?:in|at|on) the (${[...POSITIONS].sort((a, b) => b.length - a.length).join('|')})\\b(?!\\s+(?:half|side)\\b)`);
const NEGATION_RE = /\b(not|no|neither|nor|leaving out|leave out|left out|except|without|put aside|other than)\b/;
const COUNT_WORDS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8 };
const COUNT_CLAIM_RE = /\bshows (\d+|one|two|three|four|five|six|seven|eight) shapes?\b/;
const TIMES = ['no times', 'once', 'twice', 'three times', 'four times', 'five times', 'six times'];
const PHRASE_FILLER = new Set(['on', 'in', 'the', 'side', 'half']);

/** Lower-cased words of a text (letters, digits and hyphens). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9-]+/g) ?? [];
}

/** The chain of thought of a response: the text inside <think>…</think> when present, else all of it. */
export function thinkText(response: string): string {
  const m = /<think>([\s\S]*?)(?:<\/think>|$)/.exec(response);
  return m ? m[1] : response;
}

/** Every object description in the text, in order. */
export function findMentions(text: string): Mention[] {
  const found: Mention[] = [];
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
    const pos = POSITION_RE.exec(text.slice(toks[i].end).toLowerCase());
    if (pos) mention.position = pos[1];
    found.push(mention);
  }
  return found;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hasPhrase = (text: string, phrase: string) => new RegExp(`\\b${escapeRe(phrase.toLowerCase())}\\b`).test(text);

/** The concepts a query program asks about (task relevance), deduplicated, in program order. */
export function queryConcepts(program: Program): Concept[] {
  const list: Concept[] = [];
  const add = (c: Concept) => {
    if (!list.some((x) => x.key === c.key)) list.push(c);
  };
  for (const n of program) {
    switch (n.op) {
      case 'filter': {
        const p = n.pred;
        let forms: string[];
        if (p.type === 'color') forms = [p.value];
        else if (p.type === 'shape') forms = [SHAPE_WORDS[p.value].noun, SHAPE_WORDS[p.value].plural];
        else if (p.type === 'size') forms = [...SIZE_WORDS[p.value]];
        else if (p.type === 'region') forms = [...new Set(REGION_PHRASES[p.value].flatMap((ph) => words(ph).filter((w) => !PHRASE_FILLER.has(w))))];
        else {
          const f = getFact(p.value);
          forms = [...f.vp, ...(f.rel ?? []), f.negVp, ...(f.adj ? [f.adj] : []), f.explain];
        }
        add({ key: `${p.type}:${p.value}${n.negate ? ':not' : ''}`, forms, negated: n.negate });
        break;
      }
      case 'relate':
        add({ key: `relation:${n.relation}`, forms: [...RELATION_PHRASES[n.relation]], negated: false });
        break;
      case 'superlative':
        add({ key: `superlative:${n.kind}`, forms: [...SUPERLATIVE_WORDS[n.kind], ...COMPARATIVE_WORDS[n.kind]], negated: false });
        break;
      case 'countFilter':
        add({ key: `count:${n.attr}:${n.count}`, forms: [TIMES[n.count] ?? `${n.count} times`], negated: false });
        break;
      case 'same':
        add({ key: `same:${n.attr}`, forms: n.attr === 'color' ? ['same color', 'same colour'] : ['same kind', 'same shape'], negated: false });
        break;
      default:
        break;
    }
  }
  return list;
}

const fits = (m: Mention, o: SceneObject) => m.shape === o.shape && (!m.color || m.color === o.color) && (!m.size || m.size === o.size);
const fitsAt = (m: Mention, o: SceneObject) => fits(m, o) && (!m.position || m.position === o.position);

/** Judge one chain of thought (or a whole response: only its <think> text is read) against its sample. */
export function judgeCoT(response: string, sample: Sample): JudgeScores {
  const meta = shapeWorldMeta(sample);
  const objects = meta.scene.objects;
  const isTarget = (o: SceneObject) => meta.targetIds.includes(o.id);
  const cot = thinkText(response);
  const lower = cot.toLowerCase();
  const mentions = findMentions(cot);
  const lastTarget = lower.lastIndexOf('target is');
  const conclusion = (lastTarget >= 0 ? mentions.find((m) => m.at > lastTarget) : undefined) ?? mentions[mentions.length - 1] ?? null;

  // logical correctness
  let logical = 0;
  if (conclusion) {
    let matches = objects.filter((o) => fits(conclusion, o));
    if (matches.length > 1 && conclusion.position) {
      const narrowed = matches.filter((o) => o.position === conclusion.position);
      if (narrowed.length > 0) matches = narrowed;
    }
    const hits = matches.filter(isTarget).length;
    logical = hits === 0 ? 0 : hits === matches.length ? 1 : 0.5;
  }

  // task relevance
  const negationCue = NEGATION_RE.test(lower);
  const concepts = queryConcepts(meta.program).map((c) => ({ key: c.key, named: c.forms.some((f) => hasPhrase(lower, f)) && (!c.negated || negationCue) }));
  const relevance = concepts.length === 0 ? 1 : concepts.filter((c) => c.named).length / concepts.length;

  // visual consistency
  const seen = new Set<string>();
  let checked = 0;
  let held = 0;
  for (const m of mentions) {
    if (!m.color && !m.size) continue;
    const key = `${m.size}|${m.color}|${m.shape}|${m.position}`;
    if (seen.has(key)) continue;
    seen.add(key);
    checked++;
    if (objects.some((o) => fitsAt(m, o))) held++;
  }
  const claim = COUNT_CLAIM_RE.exec(lower);
  if (claim) {
    checked++;
    const n = COUNT_WORDS[claim[1]] ?? Number(claim[1]);
    if (n === objects.length) held++;
  }
  const visual = checked === 0 ? 0 : held / checked;

  // localization accuracy
  const localization = conclusion?.position && objects.some((o) => isTarget(o) && o.position === conclusion.position) ? 1 : 0;

  const w = JUDGE_WEIGHTS;
  const total = w.logical * logical + w.relevance * relevance + w.visual * visual + w.localization * localization;
  return { logical, relevance, visual, localization, total, conclusion, mentions: mentions.length, concepts, visualChecks: { checked, held } };
}
