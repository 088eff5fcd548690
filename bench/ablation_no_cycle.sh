#!/usr/bin/env bash
# The cycle-loss ablation: train the same refiner on the same keyframes without cycles (l = 0: its input
# is the keyframe's own label), then compare every method and both refiners on held-out drives.
# Run after `make weights` (it reuses its drives, cycle cache and models/seg.onnx).
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
WORK=${WORK:-build/weights}
COMPARE=${COMPARE:-build/compare}
REFINER_DRIVES=${REFINER_DRIVES:-100}
REFINER_EPOCHS=${REFINER_EPOCHS:-5}
REFINER_SAMPLES=${REFINER_SAMPLES:-8}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

train_args=()
for s in $(seq 200 $((200 + REFINER_DRIVES - 1))); do
    train_args+=(--bag "$WORK/drives/$s/drive" --labels "$WORK/drives/$s/keyframes")
done
if [ ! -f "$WORK/refiner-nocycle/refiner.onnx" ]; then
    rm -rf "$WORK/refiner-nocycle"
    "$PYTHON" -m warp_refine_ros.cli.train_refiner "${train_args[@]}" --image-topic /camera/image_raw \
        --seg models/seg.onnx --motion dis:fast --classes config/classes/cityscapes.yaml --out "$WORK/refiner-nocycle" \
        --epochs "$REFINER_EPOCHS" --samples-per-keyframe "$REFINER_SAMPLES" --min-length 0 --max-length 0 \
        --cache "$WORK/cycle-cache" --no-progress
fi
"$PYTHON" bench/compare_methods.py --work "$COMPARE" --seeds 1000 1001 1002 1003 1004 \
    --variant "no-cycle=$WORK/refiner-nocycle/refiner.onnx" --plot docs/miou_by_offset.png
