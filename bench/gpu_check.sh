#!/usr/bin/env bash
# The GPU check in one script, sized for one H100/H200 lease (under 10 minutes): the package with its
# GPU extras, the GPU tests, and the benchmark (TensorRT engines FP32 and FP16, each engine, the chained
# GPU step, bag_label end to end at 1920x1080 and 640x480 with the torch propagation backend).
#
#   bash bench/gpu_check.sh [OUT]            # OUT: logs and JSON (default build/gpu_check)
#   WHEELS=dir bash bench/gpu_check.sh       # a machine without internet: pip installs from dir only
#
# torch must already be a CUDA build (this script never replaces it). Paste OUT/summary.txt into the
# README's Performance (GPU) section with the card and versions it names.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/gpu_check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
pip_args=(--quiet --no-deps)
if [ -n "${WHEELS:-}" ]; then pip_args+=(--no-index --find-links "$WHEELS"); fi

step() { echo; echo "== $* ($(date +%T))"; }

step "install"
"$PY" -m pip install "${pip_args[@]}" -e . 2>&1 | tail -n 3
"$PY" - <<'PY' | tee "$OUT/environment.txt"
import importlib, platform
import torch
print("python", platform.python_version(), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
print("GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
for name in ("tensorrt", "onnxruntime", "cv2", "rosbags"):
    try:
        print(name, importlib.import_module(name).__version__)
    except ImportError as err:
        print(name, "MISSING:", err)
PY

step "GPU tests: the torch backend on cuda, TensorRT engines"
timeout 240 "$PY" -m pytest -q -p no:cacheprovider -m "" \
    tests/propagation/test_array_ops.py tests/trt tests/bags/test_labels_unchanged.py 2>&1 | tee "$OUT/tests.log" || true

step "benchmark"
timeout 330 "$PY" bench/bench_gpu.py --sizes 1920x1080,640x480 --precisions fp16,fp32 --repeats 20 \
    --bag-frames 60 --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.log" || true
timeout 60 "$PY" bench/bench_array_ops.py 2>&1 | tee "$OUT/array_ops.log" || true

step "summary"
{ cat "$OUT/environment.txt"; tail -n 3 "$OUT/tests.log"; grep -E "^(fp|bag|chained|step|parity)" "$OUT/bench_gpu.log"; } \
    | tee "$OUT/summary.txt"
