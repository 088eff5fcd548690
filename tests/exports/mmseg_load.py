"""Read exports with mmsegmentation's own BaseSegDataset and CityscapesDataset; prints JSON counts.

Run by test_export_dataset.py with the Python named by MMSEG_PYTHON (a venv with ``mmsegmentation``,
``mmengine`` and torch). ``import mmseg`` needs mmcv, a compiled package that does not build here, while
these two classes need only mmengine and mmseg's registry: the package is stood up around their files.
Usage: mmseg_load.py MMSEG_EXPORT CITYSCAPES_EXPORT
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import cv2
import mmengine.registry
import numpy as np

SOURCE = Path(mmengine.__file__).parents[1] / "mmseg"


def dataset_class(module: str, name: str) -> type:
    """A class from mmseg/datasets/<module>.py, loaded without mmseg's package __init__."""
    path = f"mmseg.datasets.{module}"
    if path not in sys.modules:
        spec = importlib.util.spec_from_file_location(path, SOURCE / "datasets" / f"{module}.py")
        sys.modules[path] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[path])
    return getattr(sys.modules[path], name)


def stand_up_package() -> None:
    package, datasets = types.ModuleType("mmseg"), types.ModuleType("mmseg.datasets")
    package.__path__, datasets.__path__ = [str(SOURCE)], [str(SOURCE / "datasets")]
    registry = types.ModuleType("mmseg.registry")
    registry.DATASETS = mmengine.registry.Registry("dataset")
    sys.modules.update({"mmseg": package, "mmseg.registry": registry, "mmseg.datasets": datasets})


def samples(dataset) -> list[str]:
    """Every sample's seg map, after checking it and its image read and agree in size."""
    found = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        image, seg = cv2.imread(info["img_path"]), cv2.imread(info["seg_map_path"], cv2.IMREAD_UNCHANGED)
        assert image is not None and seg is not None and seg.ndim == 2 and image.shape[:2] == seg.shape
        assert set(np.unique(seg).tolist()) <= {*range(19), 255}
        found.append(info["seg_map_path"])
    return found


def main() -> None:
    stand_up_package()
    base = dataset_class("basesegdataset", "BaseSegDataset")
    cityscapes = dataset_class("cityscapes", "CityscapesDataset")
    mmseg_root, cityscapes_root = sys.argv[1:3]
    counts = {}
    for side in ("train", "val"):
        prefix = {"img_path": f"img_dir/{side}", "seg_map_path": f"ann_dir/{side}"}
        common = {
            "data_root": mmseg_root,
            "img_suffix": ".png",
            "seg_map_suffix": ".png",
            "data_prefix": prefix,
        }
        counts[f"mmseg {side} ann_file"] = samples(base(ann_file=f"{side}.txt", **common))
        counts[f"mmseg {side} scan"] = samples(base(**common))
        prefix = {"img_path": f"leftImg8bit/{side}", "seg_map_path": f"gtFine/{side}"}
        counts[f"cityscapes {side}"] = samples(cityscapes(data_root=cityscapes_root, data_prefix=prefix))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
