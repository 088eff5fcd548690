"""The MCAP file format as the bag check walks it: record framing, chunks, indexes and summary.

:class:`McapFile` reads one open file once and raises :class:`Corrupt` with the byte offset of the first
inconsistency it meets; :mod:`mcap_check` turns that into an error naming the bag.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from rosbags.rosbag2.storage_mcap import DECOMPRESSORS  # the reader's own, so both decompress alike

MAGIC = b"\x89MCAP0\r\n"
# record opcodes of the MCAP specification
HEADER, FOOTER, SCHEMA, CHANNEL, MESSAGE, CHUNK, MESSAGE_INDEX, CHUNK_INDEX = range(1, 9)
STATISTICS, DATA_END = 0x0B, 0x0F
IN_CHUNK = (SCHEMA, CHANNEL, MESSAGE)

_RECORD = struct.Struct("<BQ")  # opcode, content length
_MESSAGE = struct.Struct("<HIQQ")  # channel id, sequence, log time, publish time
_CHUNK = struct.Struct("<QQQII")  # start time, end time, uncompressed size, CRC, compression length
_FOOTER = struct.Struct("<BQQQI")  # opcode, length, summary start, summary offset start, summary CRC
_CHUNK_INDEX = struct.Struct("<QQQQI")  # start time, end time, chunk offset, chunk length, map length
_STATISTICS = struct.Struct("<QHIIIIQQI")  # message count, ..., chunk count, start, end, map length
_BLOCK = 1 << 22  # bytes read at a time for the data-section CRC


class Corrupt(Exception):
    """An inconsistency at a byte offset of an mcap file; McapFile turns it into a BagError."""

    def __init__(self, offset: int, what: str) -> None:
        super().__init__(offset, what)
        self.offset, self.what = offset, what


@dataclass
class _Chunk:
    """A chunk record found in the data section, with the message index records that follow it."""

    offset: int
    length: int  # of the whole record, opcode and length prefix included
    start: int
    end: int
    compression: str
    compressed_size: int
    uncompressed_size: int
    messages: dict[int, tuple[int, int]]  # offset in the chunk -> (channel id, log time)
    indexes: dict[int, int] = field(default_factory=dict)  # channel id -> message index record offset
    indexed: Counter = field(default_factory=Counter)  # channel id -> messages its index lists
    index_length: int = 0

    def described(self) -> tuple[int, int, int, str, int, int]:
        """What a chunk index must say of this chunk."""
        return (
            self.start,
            self.end,
            self.length,
            self.compression,
            self.compressed_size,
            self.uncompressed_size,
        )


class McapFile:
    """One walk over an open mcap file: data section, chunks, message indexes, then the summary."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.topics: dict[int, str] = {}  # channel id -> topic
        self.counts: Counter = Counter()  # channel id -> messages found
        self.chunks: dict[int, _Chunk] = {}
        self.indexed_chunks: set[int] = set()
        self.at = 0  # the record being read, for errors found while unpacking it

    def check(self) -> dict[str, int]:
        """Messages per topic; raises Corrupt at the first inconsistency."""
        try:
            return self._check()
        except struct.error as err:
            raise Corrupt(self.at, f"a record is too short for its fields ({err})") from err

    def _check(self) -> dict[str, int]:
        if self.size < 2 * len(MAGIC) + _FOOTER.size or self.read(0, len(MAGIC)) != MAGIC:
            raise Corrupt(0, "it does not start with the mcap magic")
        footer_at = self.size - len(MAGIC) - _FOOTER.size
        footer = self.read(footer_at, _FOOTER.size)
        opcode, length, summary_start, offsets_start, summary_crc = _FOOTER.unpack(footer)
        if self.read(self.size - len(MAGIC), len(MAGIC)) != MAGIC or (opcode, length) != (FOOTER, 20):
            raise Corrupt(footer_at, "the footer or the closing magic is damaged")
        summary_end = offsets_start or footer_at
        if summary_start:
            if not len(MAGIC) < summary_start <= summary_end:
                raise Corrupt(footer_at, f"the footer's summary offset {summary_start} lies outside the file")
            self.summary(summary_start, summary_end, dry=True)  # channels the data may use first
        data_end = self.data_section(summary_start or summary_end)
        if summary_crc and self.crc(data_end, self.size - len(MAGIC) - 4) != summary_crc:
            raise Corrupt(data_end, "the summary's CRC does not match its bytes")
        if summary_start:
            self.summary(summary_start, summary_end, dry=False)
        if self.indexed_chunks and self.indexed_chunks != self.chunks.keys():
            unindexed = sorted(self.chunks.keys() - self.indexed_chunks)
            raise Corrupt(unindexed[0], f"{len(unindexed)} chunks have no entry in the summary's chunk index")
        found: Counter = Counter()
        for channel, count in self.counts.items():
            found[self.topics[channel]] += count
        return dict(found)

    # --- reading ------------------------------------------------------------------------------------

    def read(self, offset: int, size: int) -> bytes:
        self.handle.seek(offset)
        data = self.handle.read(size)
        if len(data) != size:
            raise Corrupt(offset, f"the file ends {len(data)} bytes into a {size}-byte read")
        return data

    def record(self, offset: int, limit: int, where: str = "") -> tuple[int, int, int]:
        """(opcode, content length, end) of the record at ``offset``, which must end by ``limit``."""
        if limit - offset < _RECORD.size:
            raise Corrupt(offset, f"a record{where} is cut off {limit - offset} bytes before its end")
        opcode, length = _RECORD.unpack(self.read(offset, _RECORD.size))
        end = offset + _RECORD.size + length
        if end > limit:
            raise Corrupt(
                offset, f"a record{where} of opcode 0x{opcode:02x} claims {length} bytes, past byte {limit}"
            )
        self.at = offset
        return opcode, length, end

    # --- data section -------------------------------------------------------------------------------

    def data_section(self, limit: int) -> int:
        """Walk the data section up to its Data End record; returns the offset just after it."""
        opcode, _, offset = self.record(len(MAGIC), limit)
        if opcode != HEADER:
            raise Corrupt(len(MAGIC), f"the first record has opcode 0x{opcode:02x}, not the header's")
        chunk: _Chunk | None = None
        while True:
            if offset == limit:
                raise Corrupt(offset, "the data section has no Data End record")
            opcode, length, end = self.record(offset, limit)
            if opcode != MESSAGE_INDEX and chunk is not None:
                self.close_chunk(chunk)
                chunk = None
            if opcode == DATA_END and length >= 4:
                break
            if opcode == CHUNK:
                chunk = self.chunk(offset, length)
            elif opcode == MESSAGE_INDEX:
                self.message_index(offset, self.read(offset + _RECORD.size, length), chunk)
            elif opcode == CHANNEL:
                self.channel(self.read(offset + _RECORD.size, length))
            elif opcode == MESSAGE:
                self.message(offset, self.read(offset + _RECORD.size, min(length, _MESSAGE.size)), length)
            offset = end
        if end != limit:
            raise Corrupt(
                end, f"the data section ends here, the footer says the summary starts at byte {limit}"
            )
        (data_crc,) = struct.unpack("<I", self.read(offset + _RECORD.size, 4))
        if data_crc and self.crc(0, offset) != data_crc:
            raise Corrupt(offset, "the data section's CRC does not match its bytes")
        return end

    def crc(self, start: int, stop: int) -> int:
        value = 0
        for block in range(start, stop, _BLOCK):
            value = zlib.crc32(self.read(block, min(_BLOCK, stop - block)), value)
        return value

    def channel(self, content: bytes) -> None:
        (channel,) = struct.unpack_from("<H", content)
        (topic_length,) = struct.unpack_from("<I", content, 4)
        self.topics[channel] = content[8 : 8 + topic_length].decode(errors="replace")

    def message(
        self, offset: int, header: bytes, length: int, span: tuple[int, int] | None = None
    ) -> tuple[int, int]:
        """(channel, log time) of a message record, whose channel must be declared and, in a chunk, whose
        log time must lie in the chunk's ``span``."""
        if length < _MESSAGE.size:
            raise Corrupt(offset, f"a message record of {length} bytes is shorter than its header")
        channel, _, log_time, _ = _MESSAGE.unpack(header)
        if channel not in self.topics:
            raise Corrupt(offset, f"a message names channel {channel}, which no Channel record declares")
        if span is not None and not span[0] <= log_time <= span[1]:
            topic, (first, last) = self.topics[channel], span
            raise Corrupt(
                offset, f"a message of {topic} has log time {log_time}, outside its chunk's {first}..{last}"
            )
        self.counts[channel] += 1
        return channel, log_time

    # --- chunks -------------------------------------------------------------------------------------

    def chunk(self, offset: int, length: int) -> _Chunk:
        """Check a chunk record and the records inside it; its message index records come next."""
        at = offset + _RECORD.size
        start, end, uncompressed, crc, name_length = _CHUNK.unpack(self.read(at, _CHUNK.size))
        compression = self.read(at + _CHUNK.size, name_length).decode(errors="replace")
        records_at = at + _CHUNK.size + name_length + 8
        (compressed,) = struct.unpack("<Q", self.read(records_at - 8, 8))
        if records_at + compressed > at + length:
            raise Corrupt(offset, f"chunk's {compressed} bytes of records run past its record")
        if compression not in DECOMPRESSORS:
            raise Corrupt(offset, f"chunk compression {compression!r} is unknown")
        read: Callable[[int, int], bytes]
        if compression or crc:
            raw = self.records(offset, self.read(records_at, compressed), compression, uncompressed, crc)
            read = lambda at, size: raw[at : at + size]  # noqa: E731
        elif compressed != uncompressed:
            raise Corrupt(
                offset, f"uncompressed chunk holds {compressed} bytes, its header says {uncompressed}"
            )
        else:  # nothing to verify in the bytes themselves: read the record headers only
            read = lambda at, size: self.read(records_at + at, size)  # noqa: E731
        chunk = _Chunk(offset, _RECORD.size + length, start, end, compression, compressed, uncompressed, {})
        inner = 0
        while inner < uncompressed:
            if uncompressed - inner < _RECORD.size:
                raise Corrupt(offset, f"chunk's last {uncompressed - inner} bytes are not a record")
            opcode, size = _RECORD.unpack(read(inner, _RECORD.size))
            if opcode not in IN_CHUNK or inner + _RECORD.size + size > uncompressed:
                raise Corrupt(
                    offset,
                    f"chunk's record at its byte {inner} (opcode 0x{opcode:02x}, length {size}) is not a "
                    "schema, channel or message that fits in the chunk",
                )
            content_at = inner + _RECORD.size
            if opcode == MESSAGE:
                header = read(content_at, min(size, _MESSAGE.size))
                chunk.messages[inner] = self.message(offset, header, size, (start, end))
            elif opcode == CHANNEL:
                self.channel(read(content_at, size))
            inner = content_at + size
        self.chunks[offset] = chunk
        return chunk

    def records(self, offset: int, data: bytes, compression: str, size: int, crc: int) -> bytes:
        """A chunk's records, decompressed and checked against its size and CRC."""
        try:
            raw = DECOMPRESSORS[compression](data, size)
        except Exception as err:  # zstd and lz4 raise their own types
            raise Corrupt(offset, f"chunk's {compression} data cannot be decompressed ({err})") from err
        if len(raw) != size:
            raise Corrupt(offset, f"chunk decompresses to {len(raw)} bytes, its header says {size}")
        if crc and zlib.crc32(raw) != crc:
            raise Corrupt(offset, "chunk's CRC does not match its bytes: they changed after it was written")
        return raw

    def message_index(self, offset: int, content: bytes, chunk: _Chunk | None) -> None:
        """Every entry must point at a message of the index's channel with the same log time."""
        if chunk is None:
            raise Corrupt(offset, "a message index record follows no chunk")
        (channel,), (size,) = struct.unpack_from("<H", content), struct.unpack_from("<I", content, 2)
        if size % 16 or 6 + size > len(content):
            raise Corrupt(offset, f"message index of channel {channel} has an array of {size} bytes")
        for log_time, at in struct.iter_unpack("<QQ", content[6 : 6 + size]):
            if chunk.messages.get(at) != (channel, log_time):
                topic = self.topics.get(channel, f"channel {channel}")
                raise Corrupt(
                    offset,
                    f"the message index of {topic} lists a message at log time {log_time} at byte {at} of "
                    f"the chunk at byte {chunk.offset}, which holds no such message",
                )
        chunk.indexes[channel] = offset
        chunk.indexed[channel] += size // 16
        chunk.index_length += _RECORD.size + len(content)

    def close_chunk(self, chunk: _Chunk) -> None:
        """Once its message index records are read, they must list every message of the chunk."""
        if not chunk.indexes:
            return  # the writer indexed no messages: nothing to compare
        held = Counter(channel for channel, _ in chunk.messages.values())
        if held != chunk.indexed:
            differ = [c for c in held | chunk.indexed if held[c] != chunk.indexed[c]]
            counts = ", ".join(
                f"{self.topics.get(c, c)}: {held[c]} held, {chunk.indexed[c]} indexed" for c in differ
            )
            raise Corrupt(chunk.offset, f"chunk's message index does not match its messages ({counts})")

    # --- summary ------------------------------------------------------------------------------------

    def summary(self, start: int, stop: int, *, dry: bool) -> None:
        """Read the summary's channels (``dry``), or check its chunk index and statistics against the data."""
        offset = start
        while offset < stop:
            opcode, length, end = self.record(offset, stop, " in the summary")
            if opcode == CHANNEL and dry:
                self.channel(self.read(offset + _RECORD.size, length))
            elif opcode == CHUNK_INDEX and not dry:
                self.chunk_index(offset, self.read(offset + _RECORD.size, length))
            elif opcode == STATISTICS and not dry:
                self.statistics(offset, self.read(offset + _RECORD.size, length))
            offset = end

    def chunk_index(self, offset: int, content: bytes) -> None:
        """The chunk index is what rosbags reads chunks by: it must describe a chunk of the data exactly."""
        start, end, chunk_at, chunk_length, map_length = _CHUNK_INDEX.unpack_from(content)
        at = _CHUNK_INDEX.size
        indexes = dict(struct.iter_unpack("<HQ", content[at : at + map_length]))
        at += map_length
        (index_length, name_length) = struct.unpack_from("<QI", content, at)
        compression = content[at + 12 : at + 12 + name_length].decode(errors="replace")
        compressed, uncompressed = struct.unpack_from("<QQ", content, at + 12 + name_length)
        chunk = self.chunks.get(chunk_at)
        described = (start, end, chunk_length, compression, compressed, uncompressed)
        if chunk is None or described != chunk.described():
            raise Corrupt(offset, f"the summary's chunk index does not describe the chunk at byte {chunk_at}")
        if indexes and (indexes != chunk.indexes or index_length != chunk.index_length):
            raise Corrupt(
                offset,
                f"the summary's chunk index misplaces the message index of the chunk at byte {chunk_at}",
            )
        self.indexed_chunks.add(chunk_at)

    def statistics(self, offset: int, content: bytes) -> None:
        """The statistics (what rosbags reports as topic counts) must count the messages found."""
        messages, _, _, _, _, chunks, _, _, map_length = _STATISTICS.unpack_from(content)
        per_channel = dict(
            struct.iter_unpack("<HQ", content[_STATISTICS.size : _STATISTICS.size + map_length])
        )
        found = sum(self.counts.values())
        if (messages, chunks) != (found, len(self.chunks)):
            raise Corrupt(
                offset,
                f"the statistics count {messages} messages in {chunks} chunks, the data {found} in "
                f"{len(self.chunks)}",
            )
        for channel in per_channel.keys() | self.counts.keys():
            if per_channel and per_channel.get(channel, 0) != self.counts[channel]:
                topic, counted = self.topics.get(channel, f"channel {channel}"), per_channel.get(channel, 0)
                raise Corrupt(
                    offset,
                    f"the statistics count {counted} messages on {topic}, the data {self.counts[channel]}",
                )
