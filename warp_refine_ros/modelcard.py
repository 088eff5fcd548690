"""Model cards: the markdown page released beside a network, whose Files table gives each file's SHA-256.

A network file with a card beside it (``models/seg.onnx`` and ``models/seg.md``) is checked against the
card each time it is loaded, so a damaged copy stops with its name instead of quietly changing labels.
A file the card does not list with a full SHA-256 is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from warp_refine_ros.errors import EngineError
from warp_refine_ros.fileio import sha256
from warp_refine_ros.resources import share_dirs

FILE_ROW = re.compile(
    r"^\|\s*(?P<name>[^|`\s]+)\s*\|\s*(?P<size>\d+)\s*\|\s*`(?P<sha256>[0-9a-f]{64})`\s*\|\s*$"
)
"""A row of the card's Files table: ``| seg.onnx | 3673949 | `<sha256>` |``."""


def file_row(path: Path) -> str:
    """The Files-table row of a released file, as :data:`FILE_ROW` reads it."""
    return f"| {path.name} | {path.stat().st_size} | `{sha256(path)}` |"


def card_entry(path: Path) -> tuple[Path, int, str] | None:
    """(card, bytes, SHA-256) the model card beside ``path`` gives for it, or None if none does."""
    card = path.with_suffix(".md")
    try:
        text = card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        row = FILE_ROW.match(line)
        if row and row["name"] == path.name:
            return card, int(row["size"]), row["sha256"]
    return None


def check_against_card(path: str | Path) -> None:
    """An EngineError naming ``path`` when its bytes are not those its model card gives."""
    path = Path(path)
    entry = card_entry(path)
    if entry is None:
        return
    card, size, expected = entry
    found_size = path.stat().st_size
    found = sha256(path) if found_size == size else None
    if found == expected:
        return
    shipped = any(path.resolve().parent == (root / "models").resolve() for root in share_dirs())
    fix = (
        "Reinstall warp_refine_ros (in a source checkout: `git checkout models/`), or rebuild the shipped "
        "models with `make weights`"
        if shipped
        else "Copy it again from where it was released; if it was changed on purpose, release it again "
        "(python -m warp_refine_ros.cli.release) so that its card matches"
    )
    what = f"SHA-256 {found[:16]}…" if found else f"{found_size} bytes"
    given = f"SHA-256 {expected[:16]}…" if found else f"{size} bytes"
    raise EngineError(f"{path} is damaged: it has {what} where its model card {card} gives {given}. {fix}.")
