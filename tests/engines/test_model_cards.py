"""Shipped networks are checked against the SHA-256 their model card gives, once per load."""

from __future__ import annotations

import shutil

import pytest

from warp_refine_ros import modelcard
from warp_refine_ros.engines.loading import load_refiner, load_segmentation
from warp_refine_ros.errors import EngineError
from warp_refine_ros.resources import share_path


def damaged_copy(folder, name: str):
    """models/<name> and its card copied into ``folder``, 4,000 bytes of the model flipped."""
    folder.mkdir(parents=True, exist_ok=True)
    source = share_path(f"models/{name}")
    shutil.copy(source.with_suffix(".md"), folder)
    data = bytearray(source.read_bytes())
    data[20_000:24_000] = bytes(b ^ 0xFF for b in data[20_000:24_000])
    (folder / name).write_bytes(bytes(data))
    return folder / name


def test_every_shipped_model_matches_its_card():
    for name in ("seg.onnx", "seg.pt", "refiner.onnx", "refiner.pt"):
        path = share_path(f"models/{name}")
        assert modelcard.card_entry(path) is not None, f"{path.with_suffix('.md')} gives no SHA-256 of {name}"
        modelcard.check_against_card(path)


@pytest.mark.parametrize(("name", "load"), [("seg.onnx", load_segmentation), ("refiner.pt", load_refiner)])
def test_a_damaged_model_is_named_with_what_to_do(tmp_path, monkeypatch, name, load):
    damaged = damaged_copy(tmp_path / "models", name)
    with pytest.raises(EngineError, match="release it again") as caught:
        load(str(damaged))
    assert f"{damaged} is damaged" in str(caught.value) and str(damaged.with_suffix(".md")) in str(
        caught.value
    )
    monkeypatch.setattr(modelcard, "share_dirs", lambda: [tmp_path])  # as if it were the installed copy
    with pytest.raises(EngineError, match=r"Reinstall warp_refine_ros .* `make weights`"):
        load(str(damaged))
