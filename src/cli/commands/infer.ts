/**
 * `coprs infer --ckpt DIR --image FILE --query TEXT --out DIR [--json] [--backend B]`: run a CoPRS
 * checkpoint on any image file (PNG, JPEG, … whatever sharp decodes) and one query; writes
 * OUT/response.txt, OUT/prior.png (the positional prior as a heatmap), OUT/mask.png and
 * OUT/overlay.png. A missing or corrupt image, or a checkpoint of another kind, is an error with no
 * output written.
 */
import { selectBackend } from '../../backend/select';
import { readCheckpointMeta } from '../../train/checkpoint';
import { FlagSpec, Flags, UsageError } from '../args';

export const INFER_FLAGS: Record<string, FlagSpec> = {
  ckpt: { type: 'string', help: 'a CoPRS checkpoint folder (coprs train coprs --out DIR)' },
  image: { type: 'string', help: 'the image file (PNG, JPEG, WebP, …)' },
  query: { type: 'string', help: 'what to segment, e.g. "the red circle on the left"' },
  out: { type: 'string', help: 'output folder for response.txt, prior.png, mask.png, overlay.png' },
  'max-tokens': { type: 'number', help: 'generation cap (default: what the context leaves, at most 400)' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu' },
};

export async function inferCommand(flags: Flags): Promise<Record<string, unknown>> {
  for (const k of ['ckpt', 'image', 'query', 'out']) if (typeof flags[k] !== 'string' || (flags[k] as string).trim() === '') throw new UsageError(`--${k} is required`);
  const ckpt = String(flags.ckpt);
  const meta = readCheckpointMeta(ckpt);
  if (meta.kind !== 'coprs') throw new Error(`checkpoint ${ckpt} is a "${meta.kind}" checkpoint; coprs infer needs a "coprs" checkpoint (coprs train coprs --out DIR)`);
  await selectBackend({ backend: flags.backend as string | undefined });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { inferCoprs } = require('../../models/coprs/infer') as typeof import('../../models/coprs/infer');
  const r = await inferCoprs(ckpt, String(flags.image), String(flags.query), String(flags.out), { maxTokens: flags['max-tokens'] as number | undefined });
  if (r.unknownWords.length > 0) console.error(`coprs infer: warning: ${r.unknownWords.length} query word(s) not in the policy's vocabulary, read as <unk>: ${r.unknownWords.map((w) => JSON.stringify(w)).join(', ')}`);
  if (!flags.json) {
    console.log(`response: ${r.response}`);
    console.log(`format ${r.format}, <REF_POS> ${r.refPosFound ? 'found' : 'missing'}, mask ${r.maskPixels} px, prior ${r.priorPixels} px of ${r.width}×${r.height}`);
    for (const f of Object.values(r.files)) console.log(`wrote ${f}`);
  }
  return { ckpt, ...r };
}
