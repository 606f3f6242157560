#!/bin/bash
# The issue-#4 pipeline with the kit's departures (README "CoPRS (stage 3)", "Why the prior ignored
# the chain of thought"): from the shipped mini-SAM S and stage-2 policy,
#   1. stage 3, 120 teacher-forced warm-up steps with the conclusion probe (concept.weight 1), the
#      warm-up NLL (warmup.lmWeight 1), colour keys and policy lr ×5, then 30 GRPO steps (combined);
#   2. head pre-training on cached e_conc: 1000 steps of 32 rows from 960 training-scene samples;
#   3. 60 more stage-3 steps from that checkpoint in mode combined, and the same in mode seg
#      (same seed and steps): the paper's Fig. 6b comparison on a prior that follows the chain;
#      and combined with seg.rows=conclusion (SEG only on rollouts whose chain names the target).
# Every model is evaluated greedily on refshapes testA/testB and reasonshapes test.
#   bash tools/concept-pipeline.sh [OUT=runs/concept-pipeline]      (POLICY=DIR: another stage-2 policy, default the shipped policy-small;
#                                                                    POLICY_LR=F: the policy's lr scale in step 1, default 5;
#                                                                    BATCH=N: chains per step in step 1, default the preset's)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/concept-pipeline}
POLICY=${POLICY:-data/checkpoints/policy-small}
POLICY_LR=${POLICY_LR:-5}
BATCH_SET=${BATCH:+batchSize=$BATCH,}
mkdir -p "$OUT"
coprs() { node bin/coprs.js "$@"; }
evaluate() { for s in refshapes/testA refshapes/testB reasonshapes/test; do coprs eval --ckpt "$1" --split $s --json 2>/dev/null | tail -1; done > "$1.eval.jsonl"; }
coprs train coprs --preset small --sam data/checkpoints/sam-S --policy "$POLICY" --mode combined \
  --set ${BATCH_SET}steps=150,warmup.steps=120,warmup.lmWeight=1,optim.lrScale.policy=$POLICY_LR,heldout.every=0,concept.weight=1,model.conceptProbe=true,model.head.colorKeys=true,checkpointEvery=30,seg.switchStep=120 \
  --out "$OUT/stage3-concept"
coprs train head --ckpt "$OUT/stage3-concept" --out "$OUT/head" --steps 1000 --samples 960
evaluate "$OUT/head"
for m in combined seg; do
  coprs train coprs --preset small --init "$OUT/head" --mode $m --set steps=60,warmup.steps=0,concept.weight=1,seg.switchStep=0,heldout.every=0,checkpointEvery=30 --out "$OUT/grpo-$m"
  evaluate "$OUT/grpo-$m"
done
coprs train coprs --preset small --init "$OUT/head" --mode combined --set steps=60,warmup.steps=0,concept.weight=1,seg.switchStep=0,seg.rows=conclusion,heldout.every=0,checkpointEvery=30 --out "$OUT/grpo-combined-conclusion"
evaluate "$OUT/grpo-combined-conclusion"
node --import tsx tools/head-sensitivity.ts data/checkpoints/coprs-small refshapes/val 96
node --import tsx tools/head-sensitivity.ts "$OUT/head" refshapes/val 96
