"""Files written whole or not at all: a temporary name in the same folder, then a rename."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from warp_refine_ros.errors import WarpRefineError

TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
"""The names :func:`atomic_write` gives its temporary files: ``.<name>.<8 random characters>.tmp``."""


class WriteError(WarpRefineError):
    """A file could not be written: permissions, a full disk, a path that is not a folder."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same directory and a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON written atomically."""
    atomic_write(path, (json.dumps(data, indent=2, default=str) + "\n").encode())
