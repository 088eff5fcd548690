"""The files of a suggestion, for the labeler and for scripts:

    DIR/keyframes.txt                    header stamps (ns) of the suggested frames, one a line, sorted
    DIR/images/<camera>/<stamp_ns>.png   each suggested image, lossless, as the bag decodes it
    DIR/contact_sheet.png                where motion breaks and where the keyframes fall; thumbnails
    DIR/suggestions.json                 settings, each suggested frame, per stream what it gains

A labeling tool's export of ``images/<camera>/`` comes back as ``<stamp_ns>.png`` labels, which
bag_label takes as keyframes. Each file is written whole (temporary name, rename). ``--out`` must be
new, empty, or an earlier suggestion; the files an earlier suggestion listed and this one does not
are removed, and nothing else is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from warp_refine_ros.bags import contact_sheet
from warp_refine_ros.bags.dataset import encode
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.bags.suggestion import Chain, Suggestion, SuggestRequest, check_request, suggest
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import atomic_write, write_json

RECORD = "suggestions.json"
KEYFRAMES = "keyframes.txt"
SHEET = "contact_sheet.png"
OURS = re.compile(
    "|".join([r"images/(?!\.\.?/)[^/]+/[0-9]+\.png", *map(re.escape, (KEYFRAMES, SHEET, RECORD))])
)
"""The names of the files a suggestion writes: the only ones a later suggestion in DIR may remove."""


def image_name(chain: Chain, position: int) -> str:
    """Where a suggested frame's image goes, relative to DIR."""
    return f"images/{chain.camera}/{chain.stamp(position)}.png"


def earlier_files(out: Path) -> list[str]:
    """The files an earlier suggestion in ``out`` wrote (none for a new or empty folder); anything else
    in the folder is refused, so no file the tool did not write is ever replaced."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} is a file; give a folder for the suggestion")
    record = out / RECORD
    if record.is_file():
        try:
            files = [str(name) for name in json.loads(record.read_text(encoding="utf-8"))["files"]]
        except (ValueError, KeyError, TypeError) as err:
            raise DatasetError(f"{record} is not a suggestion record ({err}); use another --out") from err
        if strange := [name for name in files if not OURS.fullmatch(name)]:
            raise DatasetError(f"{record} lists files suggest_keyframes does not write: {strange[:3]}")
        return files
    if out.is_dir() and any(out.iterdir()):
        raise DatasetError(
            f"--out {out} is not empty and holds no {RECORD}; suggest_keyframes writes into a new or "
            "empty folder, or over a suggestion it wrote"
        )
    return []


def run(request: SuggestRequest) -> Suggestion:
    """Check the arguments and ``--out``, choose, and write the files: nothing is written before every
    bag has been read."""
    check_request(request)
    earlier_files(request.out)
    suggestion = suggest(request)
    write(request, suggestion)
    return suggestion


def write(request: SuggestRequest, suggestion: Suggestion) -> None:
    """Write the suggestion's files into ``request.out``, then remove the earlier suggestion's others."""
    out = request.out
    before = earlier_files(out)
    images = [image_name(chain, position) for chain, position in suggestion.picked()]
    files = [*images, SHEET, KEYFRAMES]
    write_json(out / RECORD, {"files": sorted({*before, *files, RECORD}), "complete": False})
    tiles = _write_images(out, suggestion)
    sheet = contact_sheet.draw(_curves(suggestion), tiles)
    atomic_write(out / SHEET, encode(sheet, ".png"))
    stamps = sorted({chain.stamp(position) for chain, position in suggestion.picked()})
    atomic_write(out / KEYFRAMES, "".join(f"{stamp}\n" for stamp in stamps).encode())
    write_json(out / RECORD, _record(request, suggestion, sorted([*files, RECORD])))
    for stale in set(before) - {*files, RECORD}:
        (out / stale).unlink(missing_ok=True)


def _write_images(out: Path, suggestion: Suggestion) -> list[contact_sheet.Tile]:
    """Each suggested frame read again from its bag and written at full size, with its thumbnail."""
    tiles = []
    for chain, positions in zip(suggestion.chains, suggestion.choice.new, strict=True):
        if not positions:
            continue
        wanted = set(positions)
        first, last = chain.start + positions[0], chain.start + positions[-1]
        with BagReader(chain.bag) as reader:
            for position, message in reader.indexed_images(chain.index, first, last):
                if position - chain.start not in wanted:
                    continue
                image = message.decode()
                atomic_write(out / image_name(chain, position - chain.start), encode(image, ".png"))
                where = f"{bag_name(chain.bag)} {chain.camera} #{position}"
                tiles.append(
                    contact_sheet.Tile(contact_sheet.thumbnail(image), (str(message.stamp_ns), where))
                )
    return tiles


def _curves(suggestion: Suggestion) -> list[contact_sheet.Curve]:
    """Per chain: the share of pixels motion cannot carry over from the frame before."""
    curves = []
    analysed = zip(suggestion.chains, suggestion.costs, suggestion.choice.new, strict=True)
    for chain, costs, positions in analysed:
        loss = costs.forward[:, 1]
        title = (
            f"{bag_name(chain.bag)} {chain.camera} frames {chain.start}-{chain.end - 1}: share of pixels "
            f"motion cannot carry from the frame before; red: suggested, blue: labeled"
        )
        curves.append(contact_sheet.Curve(title, loss, positions, chain.labeled))
    return curves


def _record(request: SuggestRequest, suggestion: Suggestion, files: list[str]) -> dict:
    """suggestions.json: what was asked, each suggested frame, and per stream what it gains."""
    choice = suggestion.choice
    streams = []
    for chain, before, after, positions in zip(
        suggestion.chains, choice.before, choice.after, choice.new, strict=True
    ):
        frames = chain.frames
        streams.append(
            {
                "bag": bag_name(chain.bag),
                "topic": chain.index.topic,
                "camera": chain.camera,
                "first_stamp_ns": chain.stamp(0),
                "frames": frames,
                "labeled": len(chain.labeled),
                "suggested": len(positions),
                "unreached_before": before.unreached,
                "unreached_after": after.unreached,
                "expected_error_before": round(before.expected_error(frames), 4),
                "expected_error_after": round(after.expected_error(frames), 4),
            }
        )
    keyframes = [
        {
            "bag": bag_name(chain.bag),
            "topic": chain.index.topic,
            "camera": chain.camera,
            "stamp_ns": chain.stamp(position),
            "image": image_name(chain, position),
        }
        for chain, position in suggestion.picked()
    ]
    settings = request.settings
    return {
        "complete": True,
        "count": request.count,
        "radius": request.radius,
        "labels": str(request.labels_dir) if request.labels_dir else None,
        "motion": {"engine": settings.motion, "long_side": settings.long_side, "tau": settings.tau},
        "analysis_seconds": round(suggestion.analysis_seconds, 2),
        "frames": suggestion.frames,
        "keyframes": keyframes,
        "streams": streams,
        "files": files,
    }
