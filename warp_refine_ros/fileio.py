"""Files written whole or not at all: a temporary name in the same folder, then a rename."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from warp_refine_ros.errors import WarpRefineError

TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
"""The names :func:`atomic_write` gives its temporary files: ``.<name>.<8 random characters>.tmp``."""


class WriteError(WarpRefineError):
    """A file could not be written: permissions, a full disk, a path that is not a folder."""


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` with a TEMPORARY name, opened for writing with mode 0666 less the
    umask, as a plain ``open()`` makes it (``mkstemp`` would make it 0600, unreadable to the team)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same directory and a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
    except OSError as err:
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON written atomically."""
    atomic_write(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, hex; computed once per file version (path, size, mtime)."""
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
