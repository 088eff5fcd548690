"""Score auto-labeled datasets against ground truth: mIoU by |offset| and by class, tables, plots."""

from warp_refine_ros.evaluation.confusion import ConfusionMatrix, Scores
from warp_refine_ros.evaluation.dataset import FrameRecord, find_truth, load_pair, read_classes, read_manifest
from warp_refine_ros.evaluation.plots import plot_miou_by_offset
from warp_refine_ros.evaluation.report import Evaluation, evaluate
from warp_refine_ros.evaluation.tables import class_table, offset_table

__all__ = [
    "ConfusionMatrix",
    "Evaluation",
    "FrameRecord",
    "Scores",
    "class_table",
    "evaluate",
    "find_truth",
    "load_pair",
    "offset_table",
    "plot_miou_by_offset",
    "read_classes",
    "read_manifest",
]
