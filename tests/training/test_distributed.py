"""Data-parallel training: two gloo processes under torchrun train and only rank 0 writes files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warp_refine_ros.networks.checkpoint import load_checkpoint
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.distributed import Distributed, setup

from .conftest import bag_arguments


def test_a_single_process_needs_no_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    state = setup("cpu")
    assert state == Distributed() and state.is_main and not state.enabled
    assert state.mean(3.0) == 3.0


@pytest.mark.slow
def test_train_seg_under_torchrun_with_two_cpu_ranks(tmp_path: Path, drives: list[DriveFiles]) -> None:
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "warp_refine_ros.cli.train_seg", *bag_arguments(drives),
        "--classes", "config/classes/cityscapes.yaml",
        "--out", str(out), "--epochs", "2", "--batch-size", "2", "--crop", "24", "32", "--width", "0.5",
        "--feature-channels", "16", "--no-progress", "--no-tensorboard",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=environment, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("wrote ") == 1  # rank 0 alone reports and writes
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["frames"]["epoch_size"] == 6 and len(metrics["history"]) == 2
    assert load_checkpoint(out / "seg.pt").training.epoch == 2
    assert (out / "seg.onnx").is_file()
