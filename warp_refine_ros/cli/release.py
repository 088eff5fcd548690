"""Release a trained network: weights-only .pt, .onnx and a model card (data, command, metrics).

``python -m warp_refine_ros.cli.release OUT/seg.pt --models models`` writes models/seg.pt (no
optimiser state: a few MB), models/seg.onnx and models/seg.md from the run's metrics.json. ``--data``
lines describe the data; markdown in ``--append FILE`` (e.g. a held-out evaluation) ends the card.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.evaluation.tables import percent
from warp_refine_ros.modelcard import file_row
from warp_refine_ros.networks.checkpoint import load_checkpoint, save_checkpoint
from warp_refine_ros.networks.export import export_onnx

TITLES = {
    "segmentation": "teacher segmentation network g",
    "refiner": "refiner Omega (cycle-consistency trained)",
}


def metrics_section(metrics: dict[str, Any]) -> list[str]:
    """The card's metrics: validation mIoU (g) or mIoU by offset against warp-inpaint (Omega)."""
    if metrics["network"] == "segmentation":
        val = metrics.get("val")
        if not val:
            return ["No validation frames were given."]
        lines = [
            f"Validation ({metrics['frames']['val']} frames of held-out drives): "
            f"mIoU **{percent(val['miou'])} %**, pixel accuracy {percent(val['pixel_accuracy'])} %.",
            "",
            "| class | IoU % |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {percent(iou)} |" for name, iou in val["iou"].items() if iou is not None]
        return lines
    refine, inpaint = (
        metrics.get("val_warp_refine"),
        metrics.get("val_warp_inpaint") or metrics.get("val_baseline_warp_inpaint"),
    )
    if not refine:
        return ["No validation drives were given."]
    offsets = [k for k in refine if k != "mean"]
    lines = [
        "Validation: propagated mIoU (%) by distance |k| from the keyframe on held-out drives, "
        "with the engines it ships with (DIS motion, seg.onnx, tau 40).",
        "",
        "| method | " + " | ".join(offsets) + " | mean |",
        "| --- |" + " ---: |" * (len(offsets) + 1),
    ]
    for name, row in (("warp-inpaint", inpaint), ("warp-refine", refine)):
        if row:
            lines.append(f"| {name} | " + " | ".join(percent(row.get(k)) for k in [*offsets, "mean"]) + " |")
    return lines


def model_card(name: str, files: list[Path], metrics: dict[str, Any], data: str, extra: str) -> str:
    """Markdown model card of a released network."""
    history = metrics.get("history", [])
    seconds = sum(h["train"]["seconds"] for h in history) + metrics.get("cache_seconds", 0.0)
    arguments = metrics.get("arguments", {})
    bags = arguments.get("bag", [])
    keyframes = metrics["frames"]["train_manual"] if "frames" in metrics else metrics["keyframes"]
    lines = [
        f"# {name} — {TITLES[metrics['network']]}",
        "",
        "Default weights for the synthetic-drive domain (`warp_refine_ros.synth`, Cityscapes train ids), "
        "used by `config/engines/default.yaml` and the demo. Reproduce with `make weights` "
        "(`scripts/make_weights.sh`).",
        "",
        "## Data",
        f"- {keyframes} labeled keyframes of {len(bags)} training bags; no label of any other frame is used.",
        f"- Validation on {len(arguments.get('val_bag', []))} other bags.",
        *(f"- {line}" for line in data.splitlines() if line.strip()),
        "",
        "## Architecture",
        f"`{metrics['network']}` with config `{json.dumps(metrics['config'])}`.",
        "",
        "## Command",
        "```",
        arguments.get("command", "(not recorded)"),
        "```",
        f"{len(history)} epochs, {seconds / 60:.1f} min of training"
        + (" (including the cycle cache)" if "cache_seconds" in metrics else "")
        + ".",
        "",
        "## Metrics",
        *metrics_section(metrics),
        "",
        "## Files",
        "| file | bytes | sha256 |",
        "| --- | ---: | --- |",
        *(file_row(p) for p in files),
    ]
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines) + "\n"


def release(checkpoint: Path, models: Path, *, data: str = "", extra: str = "") -> list[Path]:
    """Write the weights-only .pt, the .onnx and the card of a trained run into ``models``."""
    metrics_path = checkpoint.parent / "metrics.json"
    if not metrics_path.is_file():
        raise DatasetError(f"{metrics_path} does not exist; release the output of a finished training run")
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    loaded = load_checkpoint(checkpoint)
    name = checkpoint.stem
    card = models / f"{name}.md"
    card.unlink(missing_ok=True)  # it describes the files being replaced: the new card is written last
    slim = save_checkpoint(
        models / f"{name}.pt",
        loaded.model(),
        spec=loaded.spec,
        normalization=loaded.normalization,
        metadata=loaded.metadata,
    )
    onnx = export_onnx(slim, models / f"{name}.onnx")
    card.write_text(model_card(name, [slim, onnx], metrics, data, extra), encoding="utf-8")
    return [slim, onnx, card]


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="release", description=__doc__)
    parser.add_argument("checkpoint", type=Path, help="OUT/seg.pt or OUT/refiner.pt of a finished run")
    parser.add_argument("--models", type=Path, default=Path("models"), help="where to write (default models)")
    parser.add_argument("--data", default="", help="lines describing the data, added to the card's Data list")
    parser.add_argument("--append", type=Path, help="markdown to add at the end of the model card")
    args = parser.parse_args(argv)
    extra = args.append.read_text(encoding="utf-8") if args.append else ""
    for path in release(args.checkpoint, args.models, data=args.data, extra=extra):
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
