"""What `make demo` and `make test` install on a fresh machine, read from make's dry run: the demo only
the package (it trains nothing), the tests every extra, both from the tested versions in constraints.txt."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, venv: Path, *variables: str) -> list[str]:
    """The commands ``make TARGET`` would run for a fresh environment at ``venv``."""
    command = ["make", "--no-print-directory", "-n", target, f"VENV={venv}", *variables]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()


def installs(lines: list[str]) -> list[str]:
    """The pip installs among ``lines`` (not pip's own upgrade), spaces normalised."""
    return [" ".join(line.split()) for line in lines if " install " in line and "pip==" not in line]


def test_the_demo_installs_the_package_alone(tmp_path: Path) -> None:
    lines = dry_run("demo", tmp_path / "venv")
    assert installs(lines) == [f"{tmp_path / 'venv'}/bin/pip install --quiet -c constraints.txt -e ."]
    assert "warp_refine_ros.cli.demo" in lines[-1]


def test_the_tests_install_every_extra_and_torch(tmp_path: Path) -> None:
    pip = f"{tmp_path / 'venv'}/bin/pip install --quiet"
    ros = f"ROS_VENV={tmp_path / 'ros'}"
    main, ros_venv = split(installs(dry_run("test", tmp_path / "venv", ros)), tmp_path / "venv")
    assert main == [f"{pip} torch==2.13.0", f'{pip} -c constraints.txt -e ".[dev,train,cluster]"']
    assert ros_venv and all("-c constraints-ros.txt" in line and "torch" not in line for line in ros_venv)
    newest, _ = split(installs(dry_run("test", tmp_path / "venv", ros, "CONSTRAINTS=")), tmp_path / "venv")
    assert newest[-1] == f'{pip} -e ".[dev,train,cluster]"'


def split(lines: list[str], venv: Path) -> tuple[list[str], list[str]]:
    """The installs into the main venv, and the others (the ROS 2 venv of the node's tests)."""
    return [x for x in lines if x.startswith(str(venv))], [x for x in lines if not x.startswith(str(venv))]


def test_constraints_are_rewritten_from_a_fresh_resolve(tmp_path: Path) -> None:
    lines = dry_run("constraints", tmp_path / "venv", f"RESOLVE_VENV={tmp_path / 'resolve'}")
    assert not any("-c constraints.txt" in line for line in installs(lines)), "resolved without the pins"
    freeze = next(line for line in lines if "pip freeze" in line)
    assert "grep '^#' constraints.txt" in freeze and "torch==" in freeze
    assert lines[-1] == f"rm -rf {tmp_path / 'resolve'}"
