"""Label one keyframe window of a bag's stream: read only its frames, push them through a
:class:`~warp_refine_ros.propagation.StreamLabeler` and hand each finished frame of its write range to a
sink. Single-process runs, worker processes and Ray tasks all call :func:`label_window`.

With an executor, the engines run there on the next frames while this thread does the propagation
arithmetic for the current one. A prefetch job computes on copies of its frames and returns them; this
thread alone puts the results into the frames' caches, just before it pushes the frame. So the frames
the propagation reads and writes are never touched by another thread, whatever the executor's number of
workers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future

import numpy as np

from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.stream_plan import StreamPlan
from warp_refine_ros.errors import FrameError
from warp_refine_ros.propagation import (
    Assignment,
    Frame,
    KeyframePropagation,
    KeyframeWindow,
    LabeledFrame,
    Propagator,
    StreamLabeler,
)
from warp_refine_ros.timing import StageTimes

READ_AHEAD = 2  # frames decoded and handed to the engines before the propagation needs them

Prefetched = tuple[Frame, Frame | None]
"""Copies of a frame and of the frame before it, holding the engine outputs computed for them."""


def label_window(
    reader: BagReader,
    plan: StreamPlan,
    window: KeyframeWindow,
    propagator: Propagator,
    radius: int,
    sink: Callable[[LabeledFrame], None],
    times: StageTimes,
    engines: Executor | None = None,
    skipped: dict[int, str] | None = None,
) -> None:
    """Label one window: push its frames in order and sink each finished frame of its write range;
    frames that cannot be decoded are left out and noted in ``skipped`` (stamp -> why). With an
    executor, each frame's engine outputs are computed there ahead of the propagation."""
    labeler = StreamLabeler(propagator, radius)
    write_from = plan.index.stamps[window.write_from]
    keyframes = [position - window.first for position in window.keyframes]
    size = window.last - window.first + 1
    reached = {a.index + window.first: a for a in KeyframePropagation.plan(size, keyframes, radius)}
    ahead: deque[tuple[Frame, Frame | None, np.ndarray | None, Future[Prefetched] | None]] = deque()
    previous: tuple[int, Frame] | None = None  # the frame decoded last, and its position

    def push(frame: Frame, before: Frame | None, labels: np.ndarray | None, job: Future | None) -> None:
        if job is not None:
            _take(job.result(), frame, before)
        for labeled in labeler.push(frame, labels):
            if labeled.frame.stamp_ns >= write_from:
                sink(labeled)

    frames = _window_frames(reader, plan, window, times, {} if skipped is None else skipped)
    for position, frame, labels in frames:
        before, job = (previous[1] if previous is not None else None), None
        if engines is not None:
            earlier = reached.get(previous[0]) if previous is not None else None
            job = engines.submit(_prefetch, propagator, frame, before, reached.get(position), earlier)
        ahead.append((frame, before, labels, job))
        previous = (position, frame)
        if len(ahead) > READ_AHEAD:
            push(*ahead.popleft())
    while ahead:
        push(*ahead.popleft())
    for labeled in labeler.finish():
        if labeled.frame.stamp_ns >= write_from:
            sink(labeled)


def _prefetch(
    propagator: Propagator,
    frame: Frame,
    before: Frame | None,
    here: Assignment | None,
    earlier: Assignment | None,
) -> Prefetched:
    """What the propagation will ask the engines for about this frame, each output computed once: g of
    the frame if a keyframe reaches it, its flow to the frame before if reached forward, and the frame
    before's flow to it if that one is reached backward. Computed on copies (see the module's text)."""
    method = propagator.method
    copy = Frame(frame.image, frame.stamp_ns)
    copy_before = Frame(before.image, before.stamp_ns) if before is not None else None
    if here is not None and (here.forward or here.backward) and method.needs_segmentation:
        propagator.segment(copy)
    if method.needs_motion and copy_before is not None:
        if here is not None and here.forward:
            propagator.flow(copy, copy_before)
        if earlier is not None and earlier.backward:
            propagator.flow(copy_before, copy)
    return copy, copy_before


def _take(prefetched: Prefetched, frame: Frame, before: Frame | None) -> None:
    """Put a prefetch job's engine outputs into the frames' caches (the propagation's thread only)."""
    copy, copy_before = prefetched
    if copy.segmentation is not None:
        frame.segmentation = copy.segmentation
    frame.flows.update(copy.flows)
    if before is not None and copy_before is not None:
        before.flows.update(copy_before.flows)


def _window_frames(
    reader: BagReader, plan: StreamPlan, window: KeyframeWindow, times: StageTimes, skipped: dict[int, str]
) -> Iterator[tuple[int, Frame, np.ndarray | None]]:
    """The window's frames in order, decoded, with the keyframe labels of its keyframes. A frame that
    cannot be decoded, or decodes to another size than its neighbours, is left out and noted in
    ``skipped`` (stamp -> why): its neighbours are propagated across the gap."""
    index = plan.index
    for position, message in reader.indexed_images(index, window.first, window.last):
        try:
            with times.stage("decode"):
                image = message.decode()
            if image.shape[:2] != (expected := plan.shape_at(position)):
                raise FrameError(
                    f"{index.topic}: image is {image.shape[1]}x{image.shape[0]} where its neighbours are "
                    f"{expected[1]}x{expected[0]} (its header gave another size)"
                )
        except FrameError as err:
            skipped[message.stamp_ns] = str(err)
            continue
        key = plan.match.by_index.get(position)
        yield position, Frame(image, message.stamp_ns), plan.keyframes.load(key) if key is not None else None
