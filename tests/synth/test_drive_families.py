"""bench/drive_families.py's table: every family is a valid drive, and its seeds are its own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from warp_refine_ros.cli import synth_drive
from warp_refine_ros.synth import DriveConfig, SynthError

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "drive_families.py"
RESERVED = set(range(300)) | set(range(1000, 1005))  # the shipped models' drives, the README's evaluation


@pytest.fixture(scope="module")
def families():
    spec = importlib.util.spec_from_file_location("drive_families", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is executed
    spec.loader.exec_module(module)
    return module.FAMILIES


def test_every_family_is_a_valid_drive(families, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[DriveConfig] = []

    def capture(out, config, **options):
        seen.append(config)
        raise SynthError("captured")

    monkeypatch.setattr(synth_drive, "write_drive", capture)
    for family in families:
        assert synth_drive.main(family.synth_args(tmp_path / family.name, family.seeds[0])) == 2
        assert seen[-1] != DriveConfig(seed=family.seeds[0], frames=family.frames), "not the default look"
    assert len(seen) == len(families)


def test_seeds_and_splits(families) -> None:
    seeds = [seed for family in families for seed in family.seeds]
    assert len(seeds) == len(set(seeds)), "no drive in two families"
    assert not RESERVED & set(seeds)
    splits = [family.split for family in families]
    assert splits.count("tuning") >= 2 and splits.count("held-out") >= 4
    assert set(splits) == {"tuning", "held-out"}
