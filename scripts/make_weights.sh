#!/usr/bin/env bash
# Reproduce models/seg.{pt,onnx} and models/refiner.{pt,onnx} with their model cards.
#
# 1. render drives: g's training drives (seeds 0..), the refiner's (seeds 200..), validation drives
#    (seeds 100..); only keyframe labels (every 10th frame) of training drives are used, and the
#    held-out evaluation drives (seeds 1000+) are never touched here;
# 2. train_seg on g's keyframes, validated on the validation drives;
# 3. pretrain the class-agnostic refiner with the cycle-consistency loss through the trained g
#    (seg.onnx) on drives of random camera looks (scripts/pretraining_drives.py, seeds 7000..), each
#    keyframe's cycles through one of DIS fast/medium/fine and tau 20..300, so that one Omega serves the
#    settings adapt_labeler calibrates; keyframes g has not seen: on its own training frames g is nearly
#    perfect, and a refiner that learnt to trust it there would follow its mistakes on new drives;
# 4. release: slim .pt (weights only), .onnx and model cards into models/.
# Knobs (environment): PYTHON, WORK, MODELS, TRAIN_DRIVES, REFINER_DRIVES, TRAIN_FRAMES, WIDTH, HEIGHT, SEG_EPOCHS,
# REFINER_EPOCHS, REFINER_SAMPLES, JOBS, OMP_NUM_THREADS. Defaults take about two hours on two CPU cores,
# most of it the refiner (1,440 keyframes x 4 samples x 4 epochs). train_refiner resumes where it
# stopped when this script is run again (--resume).
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
WORK=${WORK:-build/weights}
MODELS=${MODELS:-models}
TRAIN_DRIVES=${TRAIN_DRIVES:-16}
REFINER_DRIVES=${REFINER_DRIVES:-120}
TRAIN_FRAMES=${TRAIN_FRAMES:-60}
VAL_DRIVES=${VAL_DRIVES:-2}
VAL_FRAMES=${VAL_FRAMES:-41}
WIDTH=${WIDTH:-640}
HEIGHT=${HEIGHT:-480}
SEG_EPOCHS=${SEG_EPOCHS:-40}
REFINER_EPOCHS=${REFINER_EPOCHS:-4}
REFINER_SAMPLES=${REFINER_SAMPLES:-4}
JOBS=${JOBS:-2}
# One math thread per process: on a shared two-core machine OpenMP's spinning threads otherwise stall
# each other several-fold; parallelism comes from processes (drive rendering, the cycle cache).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
TOPIC=/camera/image_raw
CLASSES=config/classes/cityscapes.yaml

run() { echo "+ $*" >&2; "$@"; }
drive() {  # drive SEED FRAMES KEYFRAME_EVERY
    local out="$WORK/drives/$1"
    [ -f "$out/done" ] && return 0
    rm -rf "$out"
    "$PYTHON" -m warp_refine_ros.cli.synth_drive "$out" --seed "$1" --frames "$2" --keyframe-every "$3" \
        --width "$WIDTH" --height "$HEIGHT" --topic "$TOPIC" >/dev/null 2>&1
    touch "$out/done"
}
export -f drive
export PYTHON WORK WIDTH HEIGHT TOPIC

start=$(date +%s)
mkdir -p "$WORK/drives" "$MODELS"
train_seeds=$(seq 0 $((TRAIN_DRIVES - 1)))
refiner_seeds=$(seq 7000 $((7000 + REFINER_DRIVES - 1)))
val_seeds=$(seq 100 $((100 + VAL_DRIVES - 1)))
{
    for s in $train_seeds; do echo "$s $TRAIN_FRAMES 10"; done
    for s in $val_seeds; do echo "$s $VAL_FRAMES 20"; done
} | xargs -P "$JOBS" -L 1 bash -c 'drive "$@"' _
run "$PYTHON" scripts/pretraining_drives.py "$WORK/looks" --seeds "7000-$((7000 + REFINER_DRIVES - 1))" \
    --frames "$TRAIN_FRAMES" --keyframe-every 5
echo "rendered drives in $(($(date +%s) - start)) s" >&2

train_args=() refiner_args=() val_seg=() val_refiner=()
for s in $train_seeds; do
    train_args+=(--bag "$WORK/drives/$s/drive" --labels "$WORK/drives/$s/keyframes")
done
for s in $refiner_seeds; do
    refiner_args+=(--bag "$WORK/looks/$s/drive" --labels "$WORK/looks/$s/keyframes")
done
for s in $val_seeds; do
    val_seg+=(--val-bag "$WORK/drives/$s/drive" --val-labels "$WORK/drives/$s/truth")
    val_refiner+=(--val-bag "$WORK/drives/$s/drive" --val-labels "$WORK/drives/$s/keyframes"
        --val-truth "$WORK/drives/$s/truth")
done

rm -rf "$WORK/seg"
run "$PYTHON" -m warp_refine_ros.cli.train_seg "${train_args[@]}" --image-topic "$TOPIC" \
    "${val_seg[@]}" --classes "$CLASSES" --out "$WORK/seg" --epochs "$SEG_EPOCHS" --no-progress
DATA="g: synthetic drives ${WIDTH}x${HEIGHT} at 10 fps, $TRAIN_FRAMES frames, a keyframe every 10, seeds \
0..$((TRAIN_DRIVES - 1)). The refiner: $REFINER_DRIVES drives of random camera looks (scripts/pretraining_drives.py: \
sizes 512x288 to 800x450, 8-30 fps, noise, tone, colour cast, blur, JPEG 35-95), seeds \
7000..$((7000 + REFINER_DRIVES - 1)), $TRAIN_FRAMES frames, a keyframe every 5. Validation seeds \
100..$((100 + VAL_DRIVES - 1)); the evaluation seeds (1000+) and the held-out drive families of \
bench/drive_families.py (seeds 6000+) are never used here."
run "$PYTHON" -m warp_refine_ros.cli.release "$WORK/seg/seg.pt" --models "$MODELS" --data "$DATA"

resume=()
[ -f "$WORK/refiner/refiner.pt" ] && resume=(--resume)
run "$PYTHON" -m warp_refine_ros.cli.train_refiner "${refiner_args[@]}" --image-topic "$TOPIC" \
    --seg "$MODELS/seg.onnx" --motion dis:medium dis:fast dis:fine --tau 40 20 80 150 300 \
    "${val_refiner[@]}" --classes "$CLASSES" --out "$WORK/refiner" --epochs "$REFINER_EPOCHS" \
    --samples-per-keyframe "$REFINER_SAMPLES" --batch-size 8 --crop 160 224 --lr 2e-3 \
    --val-every 4 --cache "$WORK/cycle-cache" --cache-workers "$JOBS" --no-progress "${resume[@]}"
run "$PYTHON" -m warp_refine_ros.cli.release "$WORK/refiner/refiner.pt" --models "$MODELS" --data "$DATA"

echo "make weights: done in $(($(date +%s) - start)) s" >&2
