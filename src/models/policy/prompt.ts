/**
 * The instruction prompt, modelled on the official CoPRS prompt (ZhenyuLU-Heliodore/CoPRS,
 * verl/utils/rl_dataset.py, single object):
 *
 *   "<image> Please find '{Question}' in the image. Compare the difference between objects and find
 *    the most closely matched one. Output the thinking process in <think> </think>. Then generate one
 *    reference position token: <REF_POS> ..."
 *
 * The kit keeps its parts in the order the issue asks for — image tokens, the instruction (find the
 * object the query describes, compare the objects, think inside `<think> </think>`, then output
 * `<REF_POS>`), then the query — and shortens the wording: every prompt token is paid for in every
 * forward pass of a tiny CPU model. The `<image>` placeholder becomes the policy's vision tokens
 * (`<bos>` + N × `<image>` open every prompt, so the image block sits at columns 1..N).
 *
 * The cold-start target is `<think>${cot.text}</think> <REF_POS>` + `<eos>` (the CoT from the scene
 * graph, DESIGN §2 stage 2).
 */
import { BOS, EOS, IMAGE, Tokenizer } from './tokenizer';

/** The instruction, between the image and the query. */
export const INSTRUCTION =
  'Find the object that the query describes. Compare the difference between objects and find the most closely matched one. ' +
  'Output the thinking process in <think> </think>, then output the reference position token <REF_POS>.';

/** The prompt text of a query (`<image>` stands for the whole image block). Empty queries throw. */
export function promptText(query: string): string {
  if (typeof query !== 'string' || query.trim() === '') throw new Error(`prompt: the query is empty (got ${JSON.stringify(query)}); a prompt needs a non-empty query`);
  return `<image> ${INSTRUCTION} Query: ${query.trim()}`;
}

/** The cold-start response of a chain of thought: `<think>${cot}</think> <REF_POS>`. */
export function responseText(cotText: string): string {
  return `<think>${cotText}</think> <REF_POS>`;
}

/**
 * Prompt ids: `<bos>`, `imageTokens` × `<image>`, then the instruction and the query. The query's
 * unknown words become `<unk>`.
 */
export function encodePrompt(tok: Tokenizer, query: string, imageTokens: number): number[] {
  const ids = tok.encode(promptText(query));
  if (ids[0] !== IMAGE) throw new Error('prompt: the template must start with <image>');
  const rest = ids.slice(1);
  if (rest.includes(IMAGE)) throw new Error('prompt: the query must not contain an <image> token');
  return [BOS, ...new Array<number>(imageTokens).fill(IMAGE), ...rest];
}

/** Response ids of a cold-start target: the response text + `<eos>`. */
export function encodeResponse(tok: Tokenizer, cotText: string): number[] {
  return [...tok.encode(responseText(cotText)), EOS];
}
