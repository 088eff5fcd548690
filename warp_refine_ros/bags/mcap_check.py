"""Check the structure of a bag's mcap files before their messages are trusted.

rosbags' mcap reader verifies a chunk's CRC only when the writer stored one (rosbags itself stores 0),
and skips records it cannot frame or messages whose channel or log time it does not expect, so a
damaged chunk can silently shorten a topic. ``check_mcap`` walks the file once, reading record
headers, the bytes of a chunk only when it is compressed or carries a CRC (and every byte only when
the file stores a data-section CRC), and raises a BagError naming the file and byte offset of the
first inconsistency: chunk CRC (when not 0), decompression and decompressed size, the opcode/length
framing of every record in the data section and inside each chunk, each message's channel and log
time against its chunk, the message index against the messages it points at, the chunk index and
statistics of the summary against the data, and the data-section and summary CRCs (when not 0).
``McapCheck`` then compares each full read of a topic with the number of messages the files hold.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path, PurePath

import yaml

from warp_refine_ros.bags.mcap_format import Corrupt, McapFile
from warp_refine_ros.errors import BagError

RECOVER = (
    "If the recording was cut short, `mcap recover {file} -o NEW.mcap` (the mcap CLI) rewrites what can "
    "still be read; label NEW.mcap."
)
FIX = (
    "Copy the bag again from its source; `mcap doctor FILE` (the mcap CLI) shows the damage and "
    "`mcap recover FILE -o NEW.mcap` rewrites what can still be read."
)


def mcap_files(bag: Path) -> list[Path]:
    """The mcap storage files of a bag (a .mcap file, or those a ROS 2 bag directory lists); [] otherwise.

    Bags compressed file by file (``.mcap.zstd``) are not listed: rosbags unpacks them to read them.
    """
    if bag.suffix == ".mcap":
        return [bag]
    try:
        info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        if info["storage_identifier"] != "mcap" or str(info.get("compression_mode", "")).lower() == "file":
            return []
        return [bag / PurePath(name).name for name in info["relative_file_paths"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return []  # not a readable ROS 2 bag directory: opening it reports that


def check_mcap(path: Path, bag: Path | None = None) -> dict[str, int]:
    """Messages per topic in one mcap file, after checking its structure; a BagError names what is wrong."""
    bag = bag or path
    try:
        with path.open("rb") as handle:
            return McapFile(handle, path.stat().st_size).check()
    except Corrupt as err:
        raise BagError(f"{bag}: {path.name} is corrupt at byte {err.offset}: {err.what}. {FIX}") from err
    except OSError as err:
        raise BagError(f"{bag}: cannot read {path}: {err}") from err


class McapCheck:
    """Checks a bag's mcap files once, then each full read of a topic against the messages they hold."""

    def __init__(self, bag: Path) -> None:
        self.bag = bag
        self._counts: Counter | None = None

    def verify(self) -> Counter:
        """Messages per topic in the bag's mcap files (empty for other storages); checked on first call."""
        if self._counts is None:
            self._counts = Counter()
            for path in mcap_files(self.bag):
                self._counts.update(check_mcap(path, self.bag))
        return self._counts

    def confirm(self, topic: str, read: int) -> None:
        """A BagError unless a full read of ``topic`` returned every message the mcap files hold."""
        held = self.verify().get(topic)
        if held is not None and read != held:
            raise BagError(
                f"{self.bag}: the reader returned {read} of the {held} messages the bag holds on {topic} "
                f"(a damaged index or record); labels from it would miss frames. {FIX}"
            )
