/**
 * The world-knowledge table of reasonshapes: everyday facts that pick out shape kinds or colors
 * ("could roll" -> circle, "the color of grass" -> green). A fact is used in queries as a verb
 * phrase ("the shape that could roll"), in negations ("neither red nor round"), in long queries as a
 * situation sentence, and in chains of thought as an explanation ("only a circle could roll").
 */
import type { ColorName, ShapeKind } from './vocab';

export interface Fact {
  /** Stable id (stored in query programs). */
  id: string;
  /** What the fact is about. */
  about: 'shape' | 'color';
  /** The shape kinds or colors it holds for. */
  values: readonly (ShapeKind | ColorName)[];
  /** Subject verb phrases, singular ("could roll", "looks like a kite"); the first is canonical. */
  vp: readonly string[];
  /** Optional stand-alone relative clauses used when the fact is the only clause ("you might see in the night sky"). */
  rel?: readonly string[];
  /** Negated verb phrase ("could not roll"). */
  negVp: string;
  /** Adjective usable after "is" / in "neither ... nor ..." (only some facts have one). */
  adj?: string;
  /** Why the fact selects what it selects, for the chain of thought ("only a circle could roll"). */
  explain: string;
  /** Situation sentences that set up a long query. */
  situations: readonly string[];
}

/** All facts, in a fixed order. */
export const FACTS: readonly Fact[] = [
  {
    id: 'canRoll', about: 'shape', values: ['circle'],
    vp: ['could roll', 'would roll away if you pushed it'], negVp: 'could not roll',
    explain: 'only a circle could roll',
    situations: ['A child wants to send a toy rolling across the floor to a friend.', 'You need a piece for a marble run that moves smoothly down a ramp.'],
  },
  {
    id: 'round', about: 'shape', values: ['circle'],
    vp: ['is round', 'has no corners at all'], negVp: 'is not round', adj: 'round',
    explain: 'only a circle is round',
    situations: ['A baker is choosing a cookie cutter for round cookies.', 'A child is tracing around a coin to draw its outline.'],
  },
  {
    id: 'nightSky', about: 'shape', values: ['star'],
    vp: ['looks like something you might see in the night sky', 'twinkles in the night sky'],
    rel: ['you might see in the night sky', 'that you could spot in the night sky'],
    negVp: 'is not something you would see in the night sky',
    explain: 'a star is what you might see in the night sky',
    situations: ['On a clear evening you look up and point at something twinkling far above you.', 'A child is drawing the night sky above a sleeping town.'],
  },
  {
    id: 'honeycomb', about: 'shape', values: ['hexagon'],
    vp: ['looks like a honeycomb cell', 'is shaped like a honeycomb cell'], negVp: 'does not look like a honeycomb cell',
    explain: 'a honeycomb cell is a hexagon',
    situations: ['A beekeeper is explaining how bees build their homes out of wax cells.', 'A student is making a model of a beehive for a science fair.'],
  },
  {
    id: 'block', about: 'shape', values: ['square'],
    vp: ['could be stacked like a block', 'looks like a toy building block'], negVp: 'could not be stacked like a block',
    explain: 'a square could be stacked like a block',
    situations: ['A toddler is building a tall tower out of wooden blocks.', 'You want to stack a few pieces neatly on top of each other.'],
  },
  {
    id: 'pizza', about: 'shape', values: ['triangle'],
    vp: ['looks like a slice of pizza'], negVp: 'does not look like a slice of pizza',
    explain: 'a slice of pizza is shaped like a triangle',
    situations: ['At a party the pizza has just been cut into slices.', 'A cook is cutting a round pie into equal pieces.'],
  },
  {
    id: 'roof', about: 'shape', values: ['triangle'],
    vp: ['looks like the roof of a house'], negVp: 'does not look like a roof',
    explain: 'the roof of a house is shaped like a triangle',
    situations: ['Someone is drawing a simple house and still needs a piece for the roof.', 'A child is building a house out of paper shapes.'],
  },
  {
    id: 'kite', about: 'shape', values: ['diamond'],
    vp: ['looks like a kite'], negVp: 'does not look like a kite',
    explain: 'a kite is shaped like a diamond',
    situations: ['On a windy day at the beach, children are flying things on long strings.', 'A child wants to make something that flies on a string.'],
  },
  {
    id: 'plus', about: 'shape', values: ['cross'],
    vp: ['looks like a plus sign', 'looks like the sign on a first-aid kit'], negVp: 'does not look like a plus sign',
    explain: 'a plus sign is shaped like a cross',
    situations: ['A math teacher is writing an addition problem on the board.', 'You are looking for the first-aid kit in a cupboard.'],
  },
  {
    id: 'fourCorners', about: 'shape', values: ['square', 'diamond'],
    vp: ['has exactly four corners'], negVp: 'does not have four corners', adj: 'four-cornered',
    explain: 'squares and diamonds have exactly four corners',
    situations: ['A geometry teacher asks the class to count the corners of each shape.'],
  },
  {
    id: 'fireTruck', about: 'color', values: ['red'],
    vp: ['is the color of a fire truck'], negVp: 'is not the color of a fire truck',
    explain: 'a fire truck is red',
    situations: ['A fire truck races down the street with its siren on.', 'A child is coloring a picture of a fire station.'],
  },
  {
    id: 'grass', about: 'color', values: ['green'],
    vp: ['is the color of grass'], negVp: 'is not the color of grass',
    explain: 'grass is green',
    situations: ['You are lying on a freshly mowed lawn in the park.', 'A gardener is painting a picture of a lawn.'],
  },
  {
    id: 'sky', about: 'color', values: ['blue'],
    vp: ['is the color of the sky', 'has the color of a clear sky'], negVp: 'is not the color of the sky',
    explain: 'a clear sky is blue',
    situations: ['On a cloudless summer day you look straight up.', 'A painter is mixing paint for a clear daytime sky.'],
  },
  {
    id: 'banana', about: 'color', values: ['yellow'],
    vp: ['is the color of a banana'], negVp: 'is not the color of a banana',
    explain: 'a ripe banana is yellow',
    situations: ['A monkey is peeling its favorite fruit.', 'Someone is shopping for ripe bananas at the market.'],
  },
  {
    id: 'grapes', about: 'color', values: ['purple'],
    vp: ['is the color of grapes', 'has the color of ripe grapes'], negVp: 'is not the color of grapes',
    explain: 'ripe grapes are purple',
    situations: ['Someone is picking grapes in a vineyard at harvest time.', 'A child is painting a bunch of ripe grapes.'],
  },
  {
    id: 'pumpkin', about: 'color', values: ['orange'],
    vp: ['is the color of a pumpkin'], negVp: 'is not the color of a pumpkin',
    explain: 'a pumpkin is orange',
    situations: ['It is autumn and the pumpkins in the field are ready to be carved.', 'A family is decorating the house for a harvest festival.'],
  },
  {
    id: 'warm', about: 'color', values: ['red', 'orange', 'yellow'],
    vp: ['has a warm color'], negVp: 'does not have a warm color', adj: 'warm-colored',
    explain: 'red, orange and yellow are warm colors',
    situations: ['An artist is sorting paints into warm colors and cool colors.'],
  },
  {
    id: 'cool', about: 'color', values: ['green', 'blue', 'purple'],
    vp: ['has a cool color'], negVp: 'does not have a cool color', adj: 'cool-colored',
    explain: 'green, blue and purple are cool colors',
    situations: ['An artist is sorting paints into warm colors and cool colors.'],
  },
];

const BY_ID = new Map(FACTS.map((f) => [f.id, f]));

/** Looks up a fact; an unknown id throws and lists the valid ones. */
export function getFact(id: string): Fact {
  const f = BY_ID.get(id);
  if (!f) throw new Error(`ShapeWorld: unknown fact "${id}"; valid facts: ${FACTS.map((x) => x.id).join(', ')}`);
  return f;
}

/** Whether a fact holds for an object. */
export function factHolds(f: Fact, o: { shape: ShapeKind; color: ColorName }): boolean {
  return f.values.includes(f.about === 'shape' ? o.shape : o.color);
}
