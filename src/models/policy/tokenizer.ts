/**
 * The policy's word-level tokenizer.
 *
 * Vocabulary: the special tokens every paradigm of the kit needs (fixed ids 0..11, below), digits
 * 0–9, basic and JSON punctuation, the keys of Seg-Zero's JSON answers (`bbox`, `points_1`,
 * `points_2`), the words of the instruction prompt, and every word the ShapeWorld-RS grammars
 * produce: many samples of both training streams plus every query and chain of thought of the
 * frozen splits (so evaluation text is covered). The word list is frozen in `vocab-words.ts`
 * (rebuilt by `build-vocab.ts`) and saved in every policy checkpoint.
 *
 * Encoding: special tokens are matched first, case-sensitively (`<REF_POS>`, `[SEG]`, ...); the
 * text between them is lower-cased and split into words (letters with inner `-`, `_` or `'`:
 * "medium-sized", "points_1"), single digits (numbers are digit sequences: "128" → 1 2 8) and single
 * punctuation characters. Words not in the vocabulary become `<unk>`.
 *
 * Decoding joins tokens with spaces except: none before `. , : ; ? ! ) ] }` and `</think>`, none
 * after `( [ {` and `<think>`, none between two digits, and none inside a pair of `"` quotes; so
 * `decode(encode(s))` is `s` lower-cased (with single spaces) for the kit's texts:
 * `<think>the query asks for the triangle. ...</think> <REF_POS>`.
 */
import { FROZEN_WORDS } from './vocab-words';

/** The special tokens, in id order (ids 0..11 in every vocabulary). */
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<unk>', '<image>', '<think>', '</think>', '<REF_POS>', '[SEG]', '[LOC]', '<answer>', '</answer>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** Fixed ids of the special tokens. */
export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const UNK = 3;
export const IMAGE = 4;
export const THINK = 5;
export const THINK_END = 6;
export const REF_POS = 7;
export const SEG = 8;
export const LOC = 9;
export const ANSWER = 10;
export const ANSWER_END = 11;

/** Tokens every vocabulary holds besides the specials and the grammar words. */
export const BASE_TOKENS: readonly string[] = [
  ...'0123456789'.split(''),
  ...'.,:;?!\'"()[]{}-/'.split(''),
  'bbox', 'points_1', 'points_2', 'true', 'false', 'null',
];

const SPECIAL_RE = /(<pad>|<bos>|<eos>|<unk>|<image>|<think>|<\/think>|<REF_POS>|\[SEG\]|\[LOC\]|<answer>|<\/answer>)/;
const WORD_RE = /[a-z]+(?:[-_'][a-z0-9]+)*|[0-9]|\S/g;

/** Lower-cased words, digits and punctuation of a plain text (no special-token matching). */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(WORD_RE) ?? [];
}

/** Split a text into token strings (special tokens kept whole). */
export function splitTokens(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(SPECIAL_RE)) {
    if (part === '') continue;
    if ((SPECIAL_TOKENS as readonly string[]).includes(part)) out.push(part);
    else out.push(...splitWords(part));
  }
  return out;
}

const NO_SPACE_BEFORE = new Set(['.', ',', ':', ';', '?', '!', ')', ']', '}', '</think>']);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '<think>']);
const isDigit = (s: string) => s.length === 1 && s >= '0' && s <= '9';

export interface TokenizerJSON {
  format: 'coprs-wordtok/1';
  tokens: string[];
}

export class Tokenizer {
  readonly tokens: readonly string[];
  private readonly index = new Map<string, number>();

  /** `tokens[i]` is the string of id i; the first 12 must be `SPECIAL_TOKENS` in order. */
  constructor(tokens: readonly string[]) {
    SPECIAL_TOKENS.forEach((s, i) => {
      if (tokens[i] !== s) throw new Error(`Tokenizer: token ${i} must be "${s}", got "${tokens[i]}" (special tokens come first, in SPECIAL_TOKENS order)`);
    });
    tokens.forEach((t, i) => {
      if (this.index.has(t)) throw new Error(`Tokenizer: token "${t}" appears twice (ids ${this.index.get(t)} and ${i})`);
      this.index.set(t, i);
    });
    this.tokens = tokens.slice();
  }

  /** The kit's frozen vocabulary (vocab-words.ts). */
  static default(): Tokenizer {
    return new Tokenizer(vocabularyFromWords(FROZEN_WORDS));
  }

  static fromJSON(json: TokenizerJSON): Tokenizer {
    if (!json || json.format !== 'coprs-wordtok/1' || !Array.isArray(json.tokens)) {
      throw new Error(`Tokenizer.fromJSON: expected { format: "coprs-wordtok/1", tokens: [...] }, got ${JSON.stringify(json)?.slice(0, 80)}`);
    }
    return new Tokenizer(json.tokens);
  }

  toJSON(): TokenizerJSON {
    return { format: 'coprs-wordtok/1', tokens: this.tokens.slice() };
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of a token string; throws for a string that is not in the vocabulary. */
  id(token: string): number {
    const i = this.index.get(token);
    if (i === undefined) throw new Error(`Tokenizer: "${token}" is not in the vocabulary (${this.size} tokens)`);
    return i;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** Text → ids (unknown words → `<unk>`). No `<bos>`/`<eos>` are added. */
  encode(text: string): number[] {
    return splitTokens(text).map((t) => this.index.get(t) ?? UNK);
  }

  /** Words of a text the vocabulary lacks (what `encode` would turn into `<unk>`). */
  unknownWords(text: string): string[] {
    return splitTokens(text).filter((t) => !this.index.has(t));
  }

  /**
   * Ids → text. `<pad>`, `<bos>` and `<eos>` are dropped unless `keepControl`; other special
   * tokens are written as themselves. Ids outside the vocabulary throw.
   */
  decode(ids: readonly number[], opts: { keepControl?: boolean } = {}): string {
    let out = '';
    let prev: string | null = null;
    let inQuote = false;
    for (const id of ids) {
      const t = this.tokens[id];
      if (t === undefined) throw new Error(`Tokenizer.decode: id ${id} is outside the vocabulary (0..${this.size - 1})`);
      if (!opts.keepControl && (id === PAD || id === BOS || id === EOS)) continue;
      let space = prev !== null;
      if (space && (NO_SPACE_BEFORE.has(t) || NO_SPACE_AFTER.has(prev!))) space = false;
      if (space && isDigit(t) && isDigit(prev!)) space = false;
      if (t === '"') {
        if (inQuote && space) space = false; // closing quote hugs the quoted text
        inQuote = !inQuote;
      } else if (space && prev === '"' && inQuote) {
        space = false; // text right after an opening quote
      }
      out += space ? ` ${t}` : t;
      prev = t;
    }
    return out;
  }
}

/** The full token list: specials, base tokens, then the given words (deduplicated, sorted). */
export function vocabularyFromWords(words: Iterable<string>): string[] {
  const fixed = new Set<string>([...SPECIAL_TOKENS, ...BASE_TOKENS]);
  const rest = [...new Set([...words].filter((w) => !fixed.has(w)))].sort();
  return [...SPECIAL_TOKENS, ...BASE_TOKENS, ...rest];
}
