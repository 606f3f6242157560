#!/bin/bash
# Stage-3 GRPO step time on wasm at a baseline commit and at the working tree, alternating, in one run
# (the machine is shared and noisy: compare within a run). The baseline is checked out in a temporary
# git worktree sharing node_modules; tools/stage3-bench.ts is copied into it.
#   tools/stage3-speed-compare.sh 7a7b236 [preset] [steps] [rounds]
set -euo pipefail
base=${1:?usage: tools/stage3-speed-compare.sh BASE_COMMIT [preset] [steps] [rounds]}
preset=${2:-small}; steps=${3:-3}; rounds=${4:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
wt=$(mktemp -d)/base
git -C "$root" worktree add -q --detach "$wt" "$base"
trap 'git -C "$root" worktree remove --force "$wt"' EXIT
ln -s "$root/node_modules" "$wt/node_modules"
mkdir -p "$wt/tools" && cp "$root/tools/stage3-bench.ts" "$wt/tools/"
for r in $(seq "$rounds"); do
  for tree in "$wt" "$root"; do
    label=$([ "$tree" = "$wt" ] && echo "base $base" || echo "head $(git -C "$root" rev-parse --short HEAD)")
    echo "round $r $label $(cd "$tree" && node --import tsx tools/stage3-bench.ts "$preset" "$steps" 2>/dev/null | tail -1)"
  done
done
