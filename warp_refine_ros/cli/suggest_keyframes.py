"""suggest_keyframes: the frames of rosbags a human should label next (see suggestion.py for how)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.bags import suggestion_output
from warp_refine_ros.bags.suggestion import Suggestion, SuggestRequest
from warp_refine_ros.cli.common import add_bag_arguments, run_cli
from warp_refine_ros.propagation.config import DEFAULT_RADIUS
from warp_refine_ros.propagation.keyframe_choice import Outcome


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="suggest_keyframes",
        description="Choose the frames a human should label next: where motion stops carrying labels "
        "(scene changes, disocclusions, fast motion), with every frame within --radius of a keyframe "
        "first. Writes the images to label, their stamps and a contact sheet.",
    )
    add_bag_arguments(parser)
    parser.add_argument(
        "--count",
        "-n",
        type=int,
        required=True,
        metavar="N",
        help="how many new keyframes to suggest, over all bags and cameras together",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        metavar="DIR",
        help="keyframes labeled already, as bag_label takes them: suggestions are placed around them",
    )
    parser.add_argument(
        "--radius",
        "-K",
        type=int,
        default=DEFAULT_RADIUS,
        help=f"the K bag_label will label with: frames farther than K from every keyframe stay unlabeled "
        f"(default {DEFAULT_RADIUS})",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for keyframes.txt, images/ and the sheet"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def summary(request: SuggestRequest, suggestion: Suggestion) -> str:
    """What was chosen and what it gains, in a few lines."""
    choice, frames = suggestion.choice, suggestion.frames
    labeled = sum(len(chain.labeled) for chain in suggestion.chains)
    streams = len({(chain.bag, chain.index.topic) for chain in suggestion.chains})
    before, after = (Outcome.pooled(outcomes) for outcomes in (choice.before, choice.after))
    seconds = suggestion.analysis_seconds
    return "\n".join(
        [
            f"suggested {sum(map(len, choice.new))} keyframes over {streams} camera streams ({frames} "
            f"frames, {labeled} labeled already): {request.out / suggestion_output.KEYFRAMES}",
            f"frames farther than {request.radius} from every keyframe: {before.unreached} before, "
            f"{after.unreached} after",
            "expected share of pixels labeled without motion's support (an unreached frame counts "
            f"whole): {100 * before.expected_error(frames):.1f} % before, "
            f"{100 * after.expected_error(frames):.1f} % after",
            f"motion read in {seconds:.1f} s ({100 * seconds / max(frames, 1):.2f} s per 100 frames)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    request = SuggestRequest(
        bags=args.bags,
        image_topics=args.image_topics,
        count=args.count,
        out=args.out,
        labels_dir=args.labels,
        radius=args.radius,
        progress=not args.no_progress,
    )
    suggestion = suggestion_output.run(request)
    for warning in suggestion.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary(request, suggestion))
    if missed := sum(outcome.unreached for outcome in suggestion.choice.after):
        print(
            f"warning: {missed} frames stay farther than --radius {request.radius} from every keyframe and "
            "will not be labeled; raise --count to reach them",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
