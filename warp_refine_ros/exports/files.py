"""How exports write: into a new folder that appears whole or not at all, sharing files by hard link."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import WriteError


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` to write into, renamed to ``out`` once the body finishes; on any
    failure it is removed. ``out`` must be new or empty: an export never writes over other files."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise DatasetError(f"--out {out} already exists and is not an empty folder; export to a new folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        staging.chmod(0o777 & ~_umask())  # mkdtemp's folder is private; the export is an ordinary folder
    except OSError as err:
        raise WriteError(f"cannot write beside {out}: {err.strerror or err}") from err
    try:
        yield staging
        os.replace(staging, out)  # replaces an empty folder, never a full one
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass
class Linker:
    """Places dataset files in an export: a hard link (no second copy on disk) where the file system
    allows, else a copy. A later bag_label rerun replaces its files (new inodes), so a linked export
    keeps the labels it was made from."""

    linked: int = 0
    copied: int = 0

    def place(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
            self.linked += 1
        except OSError:  # another file system, or one without hard links
            try:
                shutil.copyfile(source, target)
            except OSError as err:
                raise WriteError(f"cannot write {target}: {err.strerror or err}") from err
            self.copied += 1

    def summary(self) -> str:
        return f"{self.linked} files hard-linked, {self.copied} copied"
