#!/usr/bin/env bash
# Trains the bundled model (shared/models/vilt-shapes) from its configuration (infra/models/vilt-shapes/) on synthetic
# scenes with `vqa finetune`, then scores it with `vqa eval` on scenes of a seed never trained on. Every step is a
# plain `vqa` command; the seeds fix every byte of the data and the initialization, and one libtorch thread keeps the
# arithmetic order, so the run reproduces the bundled weights (checked: byte-identical, 44 minutes on the 2-core VM).
# Usage: infra/models/train-vilt-shapes.sh [WORK-FOLDER]   (default: /tmp/vilt-shapes)
#   The model is written to WORK-FOLDER/model; INSTALL=1 also copies it into shared/models/vilt-shapes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mkdir -p "${1:-/tmp/vilt-shapes}" && cd "${1:-/tmp/vilt-shapes}" && pwd)
recipe="$root/infra/models/vilt-shapes"
"$root/vqa" --help >/dev/null   # builds the command once (Release)
vqa() { VQA_NO_BUILD=1 "$root/vqa" "$@"; }
export OMP_NUM_THREADS=1

# Objects on a 3 x 3 grid of 32-pixel cells, one per patch, at most three per scene.
scenes=(--layout grid --image-size 96 --max-objects 3 --questions-per-image 5)
started=$SECONDS
rm -rf "$work/train" "$work/val" "$work/test" "$work/model"
# Training adds "Where is the red circle?" (the position family) to the four families the model is scored on: it
# teaches where each patch is, which the comparisons ("Is the red circle left of the blue square?") then build on.
rm -rf "$work/test-where"
vqa data synth --out "$work/train" --images 40000 --seed 31 "${scenes[@]}" \
  --families existence counting attribute spatial position
vqa data synth --out "$work/val" --images 300 --seed 22 "${scenes[@]}"
vqa data synth --out "$work/test" --images 1000 --seed 99 "${scenes[@]}"
vqa data synth --out "$work/test-where" --images 1000 --seed 99 "${scenes[@]}" --families position

# initializer_range 0.1 (config.json) and sine-cosine image positions four times their unit size: from transformers'
# zeros, or a table small next to the patch embeddings, a model trained from scratch never learns where things are.
vqa finetune --data "$work/train" --out "$work/model" --from-config "$recipe/config.json" --tokenizer "$recipe" \
  --image-positions sincos --image-position-scale 4 \
  --batch-size 32 --lr 5e-4 --warmup-steps 1000 --epochs 5 --seed 1 \
  --eval-data "$work/val" --eval-every 2500 --save-every 2500 --keep-last 1 --log-every 500
echo "trained in $(((SECONDS - started) / 60)) min" >&2

vqa eval --model "$work/model" --data "$work/test" --output "$work/test-results.json"
vqa eval --model "$work/model" --data "$work/test-where" --output "$work/test-where-results.json"

if [ "${INSTALL:-}" = 1 ]; then
  target="$root/shared/models/vilt-shapes"
  mkdir -p "$target"
  for file in config.json model.safetensors vocab.txt tokenizer_config.json special_tokens_map.json preprocessor_config.json; do
    cp "$work/model/$file" "$target/$file"
  done
  # The ONNX export beside the weights (deterministic): the services and `vqa ask` run the bundled model on it.
  vqa export onnx --model "$target" --out "$target"
  echo "installed the model in $target" >&2
fi
