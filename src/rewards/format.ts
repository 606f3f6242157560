/**
 * The CoPRS format reward: does a response follow `<think> … </think> <REF_POS>`?
 *
 * Invalid (0.0) unless the response has exactly one `<think>…</think>` pair with non-empty content,
 * exactly one `<REF_POS>`, and the `<REF_POS>` comes after `</think>`. A valid response scores 1.0,
 * lowered to 0.9 (once, whatever the number of faults) when:
 *
 *   paper rules (appendix B.2; the default, the five canonical cases):
 *     - the think content is longer than 2048 characters,
 *     - non-whitespace text stands before `<think>`,
 *     - non-whitespace text stands after `<REF_POS>`;
 *   official-code rules ('format-code'):
 *     - the think content is longer than 2048 characters,
 *     - non-whitespace text stands before `<think>`,
 *     - more than 10 words stand between `</think>` and `<REF_POS>`.
 *
 * Never throws: any string (unclosed or nested tags, unicode, huge text) maps to 0, 0.9 or 1.
 */
export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
export const REF_POS = '<REF_POS>';
export const MAX_THINK_CHARS = 2048;
export const MAX_WORDS_BEFORE_TOKEN = 10;

export type FormatRules = 'paper' | 'code';

export interface FormatCheck {
  valid: boolean;
  /** Why the response is invalid or penalized (empty for a clean 1.0). */
  faults: string[];
  reward: number;
  /** The think content (trimmed), when valid. */
  think?: string;
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

export function checkFormat(response: string, rules: FormatRules = 'paper', specialToken = REF_POS): FormatCheck {
  if (rules !== 'paper' && rules !== 'code') throw new Error(`format reward: unknown rules "${rules}"; expected "paper" or "code"`);
  const text = typeof response === 'string' ? response : '';
  const nOpen = count(text, THINK_OPEN);
  const nClose = count(text, THINK_CLOSE);
  const nTok = count(text, specialToken);
  if (nOpen !== 1 || nClose !== 1) return { valid: false, faults: [`expected one ${THINK_OPEN}…${THINK_CLOSE} pair, found ${nOpen} ${THINK_OPEN} and ${nClose} ${THINK_CLOSE}`], reward: 0 };
  if (nTok !== 1) return { valid: false, faults: [`expected exactly one ${specialToken}, found ${nTok}`], reward: 0 };
  const open = text.indexOf(THINK_OPEN);
  const close = text.indexOf(THINK_CLOSE);
  const tok = text.indexOf(specialToken);
  if (close < open) return { valid: false, faults: [`${THINK_CLOSE} comes before ${THINK_OPEN}`], reward: 0 };
  const think = text.slice(open + THINK_OPEN.length, close).trim();
  if (think.length === 0) return { valid: false, faults: ['empty think content'], reward: 0 };
  if (tok < close + THINK_CLOSE.length) return { valid: false, faults: [`${specialToken} does not come after ${THINK_CLOSE}`], reward: 0 };
  const faults: string[] = [];
  if (think.length > MAX_THINK_CHARS) faults.push(`think content has ${think.length} characters (> ${MAX_THINK_CHARS})`);
  if (text.slice(0, open).trim().length > 0) faults.push(`text before ${THINK_OPEN}`);
  if (rules === 'paper') {
    if (text.slice(tok + specialToken.length).trim().length > 0) faults.push(`text after ${specialToken}`);
  } else {
    const between = text.slice(close + THINK_CLOSE.length, tok).trim();
    const words = between.length === 0 ? 0 : between.split(/\s+/).length;
    if (words > MAX_WORDS_BEFORE_TOKEN) faults.push(`${words} words between ${THINK_CLOSE} and ${specialToken} (> ${MAX_WORDS_BEFORE_TOKEN})`);
  }
  return { valid: true, faults, reward: faults.length > 0 ? 0.9 : 1.0, think };
}

/** The format reward of one response under the paper's (default) or the official code's rules. */
export function formatReward(response: string, rules: FormatRules = 'paper'): number {
  return checkFormat(response, rules).reward;
}
