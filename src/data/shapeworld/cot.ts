/**
 * Ground-truth chains of thought, derived from a query program's evaluation trace: what the query
 * asks, the shapes in the picture, one sentence per program step (with the world-knowledge fact
 * where one is used), and the chosen target with its attributes and position. The text never
 * contains angle brackets, so `<think>${text}</think> <REF_POS>` is a well-formed CoPRS response.
 */
import type { ChainOfThought } from '../sample';
import { DEFAULT_CONFIG, type ShapeWorldConfig } from './config';
import { getFact } from './knowledge';
import { evaluateProgram, type Predicate, type Program, type ProgramNode } from './program';
import { RELATION_PHRASES, REGION_PHRASES, SUPERLATIVE_WORDS, capitalize, joinList, objectName, objectRef, objectRefWithPosition } from './phrases';
import type { Query } from './query';
import type { SceneGraph } from './scene';
import { SHAPE_WORDS, SIZE_WORDS, positionPhrase } from './vocab';

const TIMES = ['no times', 'once', 'twice', 'three times', 'four times', 'five times', 'six times'];
const times = (n: number): string => TIMES[n] ?? `${n} times`;

/** "the red ones", "the circles", "the large ones", "those on the right side", "the ones that could roll". */
function predicateGroup(p: Predicate): string {
  switch (p.type) {
    case 'color':
      return `the ${p.value} ones`;
    case 'shape':
      return `the ${SHAPE_WORDS[p.value].plural}`;
    case 'size':
      return `the ${SIZE_WORDS[p.value][0]} ones`;
    case 'region':
      return `those ${REGION_PHRASES[p.value][0]}`;
    case 'fact':
      return 'those';
  }
}

/** Why an object fails a predicate (or, negated, why it is excluded). */
function predicateReason(p: Predicate, negate: boolean): string {
  switch (p.type) {
    case 'color':
      return negate ? `it is ${p.value}` : `it is not ${p.value}`;
    case 'shape':
      return negate ? `it is a ${SHAPE_WORDS[p.value].noun}` : `it is not a ${SHAPE_WORDS[p.value].noun}`;
    case 'size':
      return negate ? `it is ${SIZE_WORDS[p.value][0]}` : `it is not ${SIZE_WORDS[p.value][0]}`;
    case 'region':
      return negate ? `it is ${REGION_PHRASES[p.value][0]}` : `it is not ${REGION_PHRASES[p.value][0]}`;
    case 'fact': {
      const f = getFact(p.value);
      return negate ? `it ${f.vp[0]}` : `it ${f.negVp}`;
    }
  }
}

/** The comparison a superlative loser loses on. */
const BEATEN_BY: Record<string, string> = {
  largest: 'is larger', smallest: 'is smaller', leftmost: 'is further left', rightmost: 'is further right', topmost: 'is higher', bottommost: 'is lower',
};

/**
 * The order a chain of thought lists shapes in: reading order — by the row of the 3×3 position grid
 * (top, middle, bottom), then left to right by the visible centroid. It is a function of the image
 * (object ids follow the order the generator placed them in, which no one can see), so a policy
 * that lists "the shapes in the picture" has one right order to learn.
 */
export function readingOrder(scene: SceneGraph): number[] {
  const row = (id: number): number => {
    const p = scene.objects[id].position;
    return p.startsWith('top') ? 0 : p.startsWith('bottom') ? 2 : 1;
  };
  return scene.objects
    .map((o) => o.id)
    .sort((a, b) => row(a) - row(b) || scene.objects[a].centroid[0] - scene.objects[b].centroid[0] || scene.objects[a].centroid[1] - scene.objects[b].centroid[1] || a - b);
}

/** "the large red circle, the small blue square and …" in reading order ("nothing" when empty). */
export function listObjects(scene: SceneGraph, ids: readonly number[]): string {
  if (ids.length === 0) return 'nothing';
  const rank = new Map(readingOrder(scene).map((id, r) => [id, r]));
  return joinList([...ids].sort((a, b) => rank.get(a)! - rank.get(b)!).map((id) => objectRef(scene, id)));
}

/**
 * A filter step's sentence for a predicate the listing states (colour, shape, size, region):
 * "Keeping only the red ones leaves the large red circle." / "Leaving out the circles leaves …".
 * `kept` are the ids the step keeps. (Fact predicates state their fact instead; see below.)
 */
export function filterSentence(scene: SceneGraph, p: Exclude<Predicate, { type: 'fact' }>, negate: boolean, kept: readonly number[]): string {
  return `${negate ? 'Leaving out' : 'Keeping only'} ${predicateGroup(p)} leaves ${listObjects(scene, kept)}.`;
}

/** Builds the chain of thought of a query about a scene. Throws when the program does not select the target. */
export function buildChainOfThought(scene: SceneGraph, query: Query, cfg: ShapeWorldConfig = DEFAULT_CONFIG): ChainOfThought {
  const program: Program = query.program;
  const ev = evaluateProgram(program, scene, cfg);
  if (!ev.ok || ev.outputs[ev.outputs.length - 1][0] !== query.targetId) {
    throw new Error(`buildChainOfThought: the program does not select object ${query.targetId} (${ev.error ?? 'selects ' + ev.outputs[ev.outputs.length - 1].join(',')})`);
  }
  const out = ev.outputs;
  const ref = (id: number) => objectRef(scene, id);
  const order = readingOrder(scene);
  const rank = new Map(order.map((id, r) => [id, r]));
  const sorted = (ids: readonly number[]): number[] => [...ids].sort((a, b) => rank.get(a)! - rank.get(b)!);
  const list = (ids: readonly number[]) => (ids.length === 0 ? 'nothing' : joinList(sorted(ids).map(ref)));

  // nodes that only serve to find a reference object (inputs of unique nodes feeding relate/same)
  const anchorChain = new Set<number>();
  const markAnchor = (k: number): void => {
    const n = program[k];
    if (n.op === 'scene') return;
    anchorChain.add(k);
    if ('input' in n) markAnchor(n.input);
  };
  program.forEach((n) => {
    if ((n.op === 'relate' || n.op === 'same') && program[n.input].op === 'unique') markAnchor(n.input);
  });

  const anchorOf = (n: ProgramNode & { input: number }): number => out[n.input][0];
  const steps: string[] = [];
  let introducedAnchor = false;
  program.forEach((n, k) => {
    let s = '';
    switch (n.op) {
      case 'scene':
        return;
      case 'filter': {
        const p = n.pred;
        if (p.type === 'fact') {
          const f = getFact(p.value);
          s = n.negate
            ? `${capitalize(f.explain)}, so leaving those out leaves ${list(out[k])}.`
            : `${capitalize(f.explain)}, so ${out[k].length === 1 ? 'the only candidate is' : 'the candidates are'} ${list(out[k])}.`;
        } else {
          s = filterSentence(scene, p, n.negate, out[k]);
        }
        break;
      }
      case 'unique':
        s = `So the reference shape is ${objectRefWithPosition(scene, out[k][0])}.`;
        break;
      case 'relate':
        const rp = RELATION_PHRASES[n.relation][0];
        s = out[k].length === 0 ? `No shape is ${rp} it.` : out[k].length === 1 ? `The only shape ${rp} it is ${list(out[k])}.` : `The shapes ${rp} it are ${list(out[k])}.`;
        break;
      case 'intersect':
        s = `Combining both conditions leaves ${list(out[k])}.`;
        break;
      case 'superlative': {
        const inp = out[n.input];
        s = inp.length === 1 ? `Only ${ref(out[k][0])} is left.` : `Comparing ${list(inp)}, ${ref(out[k][0])} is the ${SUPERLATIVE_WORDS[n.kind][0]}.`;
        break;
      }
      case 'countFilter': {
        const values: string[] = [];
        for (const id of order) if (!values.includes(scene.objects[id][n.attr])) values.push(scene.objects[id][n.attr]);
        const counts = values.map((v) => {
          const c = scene.objects.filter((o) => o[n.attr] === v).length;
          return n.attr === 'color' ? `${v} appears ${times(c)}` : `the ${c === 1 ? SHAPE_WORDS[v as keyof typeof SHAPE_WORDS].noun : SHAPE_WORDS[v as keyof typeof SHAPE_WORDS].plural} appear${c === 1 ? 's' : ''} ${times(c)}`;
        });
        const what = n.attr === 'color' ? 'color' : 'kind';
        s = `Counting each ${what} in the picture: ${joinList(counts)}. The ones whose ${what} appears exactly ${times(n.count)} are ${list(out[k])}.`;
        break;
      }
      case 'same': {
        const a = scene.objects[anchorOf(n)];
        const v = n.attr === 'color' ? a.color : SHAPE_WORDS[a.shape].noun;
        const what = n.attr === 'color' ? 'color' : 'kind';
        s = out[k].length === 1 ? `The only other shape with the same ${what} as it (${v}) is ${list(out[k])}.` : `The other shapes with the same ${what} as it (${v}) are ${list(out[k])}.`;
        break;
      }
    }
    if (anchorChain.has(k) && n.op !== 'unique' && !introducedAnchor) {
      s = `For the reference shape: ${s[0].toLowerCase()}${s.slice(1)}`;
      introducedAnchor = true;
    }
    steps.push(s);
  });

  const reason = (k: number, id: number): string | null => {
    const n = program[k];
    if (out[k].includes(id)) return null;
    switch (n.op) {
      case 'scene':
        return null;
      case 'filter':
        return out[n.input].includes(id) ? predicateReason(n.pred, n.negate) : reason(n.input, id);
      case 'unique':
        return reason(n.input, id);
      case 'relate': {
        const a = anchorOf(n);
        return id === a ? 'it is the reference shape' : `it is not ${RELATION_PHRASES[n.relation][0]} ${ref(a)}`;
      }
      case 'intersect':
        return reason(n.inputs[0], id) ?? reason(n.inputs[1], id);
      case 'superlative':
        return out[n.input].includes(id) ? `${ref(out[k][0])} ${BEATEN_BY[n.kind]}` : reason(n.input, id);
      case 'countFilter': {
        if (!out[n.input].includes(id)) return reason(n.input, id);
        const c = scene.objects.filter((o) => o[n.attr] === scene.objects[id][n.attr]).length;
        return `its ${n.attr === 'color' ? 'color' : 'kind'} appears ${times(c)}, not ${times(n.count)}`;
      }
      case 'same': {
        const a = anchorOf(n);
        if (id === a) return 'it is the reference shape';
        return n.attr === 'color' ? `it is not ${scene.objects[a].color}` : `it is not a ${SHAPE_WORDS[scene.objects[a].shape].noun}`;
      }
    }
  };

  const last = program.length - 1;
  const candidates = scene.objects.map((o) => {
    const why = reason(last, o.id);
    return { objectId: o.id, description: `${objectName(o)} ${positionPhrase(o.position)}`, kept: why === null, reason: why ?? 'it meets every condition' };
  });
  const t = scene.objects[query.targetId];
  const shapes = order.map((id) => `a ${objectName(scene.objects[id])} ${positionPhrase(scene.objects[id].position)}`);
  const n = scene.objects.length;
  const text = [
    `The query asks for ${query.asks}.`,
    `The picture shows ${n === 1 ? 'one shape' : `${n} shapes`}: ${joinList(shapes)}.`,
    ...steps,
    `So the target is the ${objectName(t)} ${positionPhrase(t.position)}.`,
  ].join(' ');
  return {
    asks: query.asks,
    candidates,
    target: { objectId: t.id, description: objectName(t), position: t.position },
    text,
  };
}
