/**
 * What a bare runtime abort means. The wasm backend (Emscripten) dies with "Aborted()" and nothing
 * else when an allocation would take its heap past 4 GiB (`getHeapMax()` of tfjs-backend-wasm
 * 4.22); the message alone says nothing a user can act on. Seen in stage 3 with the 6-layer
 * policy (`policy-small-v4`) at 16 teacher-forced chains per step: step 30 aborted every time,
 * the same samples at 8 per step went through. Only Emscripten modules (the wasm backend) abort
 * with this message.
 */
export function explainError(message: string): string {
  if (/^Aborted\(/.test(message)) {
    return `${message}\n  The wasm backend aborted: most often its heap reached its 4 GiB cap. Lower the per-step work (batchSize, grpo.G, the rollout length cap) or run on @tensorflow/tfjs-node(-gpu). A training run's last written OUT/latest is intact (--resume continues from it).`;
  }
  return message;
}
