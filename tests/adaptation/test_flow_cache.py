"""adapt_labeler's flow cache: each pair's flow computed once, read back exactly, priced at what
computing it took."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from doubles import CountingMotion

from warp_refine_ros.adaptation.flow_cache import FlowCache

SLOW_S = CountingMotion.DELAY_S


def test_a_pair_is_computed_once_and_read_back_exactly_also_by_a_resumed_run(tmp_path: Path):
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(2))
    engine = CountingMotion()
    cache = FlowCache(engine, tmp_path / "flows", "dis:fine")
    first = cache.flow(a, b)
    assert np.array_equal(cache.flow(a, b), first) and engine.calls == 1
    reverse = cache.flow(b, a)  # the other direction is another flow
    assert engine.calls == 2 and not np.array_equal(reverse, first)
    (folder,) = (tmp_path / "flows").iterdir()
    assert folder.name.startswith("dis_fine-")
    assert FlowCache(engine, tmp_path / "flows", "dis_fine").folder != folder  # names that read alike

    resumed_engine = CountingMotion()
    resumed = FlowCache(resumed_engine, tmp_path / "flows", "dis:fine")
    assert np.array_equal(resumed.flow(a, b), first) and resumed_engine.calls == 0
    assert len(resumed.compute_seconds()) == 2 and min(resumed.compute_seconds()) >= SLOW_S


def test_images_of_other_shapes_with_the_same_bytes_are_different_pairs(tmp_path: Path):
    engine = CountingMotion()
    cache = FlowCache(engine, tmp_path, "m")
    pixels = np.arange(24 * 32 * 3, dtype=np.uint8)
    cache.flow(pixels.reshape(24, 32, 3), pixels.reshape(24, 32, 3))
    cache.flow(pixels.reshape(32, 24, 3), pixels.reshape(32, 24, 3))
    assert engine.calls == 2


def test_a_full_disk_costs_time_not_the_run_and_each_flow_is_priced_once(tmp_path: Path, monkeypatch, caplog):
    from warp_refine_ros.adaptation import flow_cache

    writes = []

    def fills_up(path, data):
        if len(writes) >= 3:  # the first flow and its time fit, and the second's time
            raise flow_cache.WriteError(f"cannot write {path}: No space left on device")
        writes.append(path)
        path.write_bytes(data)

    monkeypatch.setattr(flow_cache, "atomic_write", fills_up)
    engine = CountingMotion()
    cache = FlowCache(engine, tmp_path, "m")
    images = [np.full((24, 32, 3), value, np.uint8) for value in range(3)]
    for image in images:
        assert cache.flow(image, image).shape == (24, 32, 2)
    assert cache.flow(images[0], images[0]) is not None and engine.calls == 3  # the stored one is read
    assert cache.flow(images[1], images[1]) is not None and engine.calls == 4  # the others computed again
    assert len(cache.compute_seconds()) == 4  # one stored, three computed without storing
    assert caplog.text.count("No space left on device: flows are no longer stored") == 1


def test_flows_are_not_stored_where_the_disk_would_run_low(tmp_path: Path, monkeypatch):
    from warp_refine_ros.adaptation import flow_cache

    monkeypatch.setattr(flow_cache.shutil, "disk_usage", lambda path: SimpleNamespace(free=1 << 30))
    cache = FlowCache(CountingMotion(), tmp_path, "m")
    image = np.zeros((24, 32, 3), np.uint8)
    cache.flow(image, image)
    assert not list(cache.folder.iterdir()) and "GiB would be left free" in cache.stopped


def test_a_damaged_flow_file_is_computed_again(tmp_path: Path):
    engine = CountingMotion()
    cache = FlowCache(engine, tmp_path, "m")
    image = np.zeros((24, 32, 3), np.uint8)
    first = cache.flow(image, image)
    (stored,) = cache.folder.glob("*.npy")
    stored.write_bytes(b"\x93NUMPY truncated")
    again = cache.flow(image, image)
    assert engine.calls == 2 and again.shape == first.shape
    assert np.array_equal(np.load(stored), again)  # and stored whole again
