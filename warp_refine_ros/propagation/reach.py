"""How far motion carries a keyframe's labels: for every frame of a stream and every keyframe that
could reach it within K, the share of its pixels that would arrive without motion's support.

*Support* is what two-keyframe fusion already uses (:class:`Track`): 1 at the keyframe, warped with
the labels (eq. 3) and multiplied at each step by the trust mask M of eq. 6 and by the flow's
forward-backward consistency, which catches occlusions and disocclusions that M misses in flat
regions. A frame reached from a keyframe ``a`` before it and ``b`` after it keeps, per pixel, the
better supported of the two labelings, so its expected error is ``1 - mean(max(S_a, S_b))``. Scene
cuts, disocclusions, fast motion and blur all lose support; a standing camera loses none. Everything
runs on small images (tens of thousands of pixels), and the result is a few numbers per frame, so a
whole drive is summarised in O(frames x K) memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.propagation.trust import DEFAULT_TAU, trust_mask
from warp_refine_ros.propagation.warp import SamplingMap, sampling_map, warp_probabilities

CONSISTENCY = (0.01, 0.5)
"""Forward-backward check of Sundaram et al. (ECCV 2010): a pixel's flow is consistent when
|w + w_back|^2 < 0.01 (|w|^2 + |w_back|^2) + 0.5 px^2, at the working size."""
EVAL_STRIDE = 2
"""Shares of supported pixels are averaged over every 2nd pixel of every 2nd row: support maps are
smooth at the working size, and this quarters the cost of comparing K x K keyframe pairs per frame."""


@dataclass(frozen=True)
class ReachCosts:
    """Expected error (share of pixels without support, 0..1) of each frame of one stream of ``frames``
    frames, by the keyframes that reach it.

    ``forward[f, j]``: frame f labeled only from the keyframe j frames before it (j = 1..K);
    ``backward[f, j]``: only from the keyframe j frames after it; ``gaps[a, g]``: the summed error of
    the frames strictly between keyframes a and a + g (g = 1..2K+1), each reached from both, or from
    the one within K. Entries that would need a frame outside the stream are 0 and never used.
    """

    radius: int
    forward: np.ndarray  # (frames, K + 1) float64, column 0 unused
    backward: np.ndarray  # (frames, K + 1)
    gaps: np.ndarray  # (frames, 2K + 2), column 0 unused

    @property
    def frames(self) -> int:
        return self.forward.shape[0]


@dataclass(frozen=True)
class Step:
    """Motion between frames t and t+1: where each pixel of t+1 samples t (forward) and each pixel of
    t samples t+1 (backward), and whether that sample can be trusted."""

    forward: SamplingMap
    forward_trust: np.ndarray  # (h, w) float32, 1 = trusted
    backward: SamplingMap
    backward_trust: np.ndarray


def motion_step(
    motion: MotionEngine, image: np.ndarray, next_image: np.ndarray, tau: float = DEFAULT_TAU
) -> Step:
    """Flows both ways between two frames, each trusted where eq. 6 holds and the other flow agrees."""
    to_image = motion.flow(next_image, image)  # next_image(x) ~ image(x + to_image(x))
    to_next = motion.flow(image, next_image)
    forward, backward = sampling_map(to_image), sampling_map(to_next)
    forward_trust = trust_mask(next_image, image, forward, tau) & _consistent(to_image, to_next, forward)
    backward_trust = trust_mask(image, next_image, backward, tau) & _consistent(to_next, to_image, backward)
    return Step(forward, forward_trust.astype(np.float32), backward, backward_trust.astype(np.float32))


def _consistent(flow: np.ndarray, back: np.ndarray, sampling: SamplingMap) -> np.ndarray:
    """Where following ``flow`` and then ``back`` returns to the start (no occlusion), (h, w) bool."""
    returned = warp_probabilities(back, sampling)  # the other flow where this one lands
    ratio, slack = CONSISTENCY
    (fx, fy), (rx, ry) = cv2.split(flow), cv2.split(returned)
    mismatch = np.square(fx + rx) + np.square(fy + ry)
    return mismatch < ratio * (np.square(fx) + np.square(fy) + np.square(rx) + np.square(ry)) + slack


class ReachCostBuilder:
    """Streams a camera's frames (at the working size) once and gathers their :class:`ReachCosts`.

    Forward support of the K keyframes before a frame is carried along incrementally (one warp of a
    K+1 channel stack per frame). Backward support needs the K frames after a frame: every K+1 frames,
    one sweep back over the last 2K steps gives it for K+1 frames at once. Only the last 2K+1 frames
    and steps are held.
    """

    def __init__(self, motion: MotionEngine, radius: int, *, tau: float = DEFAULT_TAU) -> None:
        if radius < 1:
            raise ValueError(f"radius must be >= 1 to place keyframes by reach, got {radius}")
        self.motion = motion
        self.radius = radius
        self.tau = tau
        held = 2 * radius + 1
        self._images: deque[np.ndarray] = deque(maxlen=held)
        self._steps: deque[Step] = deque(maxlen=held - 1)  # _steps[-1] ends at the newest frame
        self._forward: deque[np.ndarray] = deque(maxlen=held)  # per frame: (h, w, K+1) support
        self._frames = 0  # added so far
        self._evaluated = 0  # frames whose errors are known
        self._ahead = np.zeros((0, radius + 1))  # rows grow as frames arrive
        self._behind = np.zeros((0, radius + 1))
        self._gaps = np.zeros((0, 2 * radius + 2))
        self._pairs = _gap_pairs(radius)

    def add(self, image: np.ndarray) -> None:
        """The next frame of the stream, RGB uint8 at the working size (every frame the same size)."""
        if self._images and image.shape != self._images[-1].shape:
            raise ValueError(f"frame {self._frames} is {image.shape}, not {self._images[-1].shape}")
        support = np.zeros((*image.shape[:2], self.radius + 1), np.float32)
        if self._images:
            step = motion_step(self.motion, self._images[-1], image, self.tau)
            self._steps.append(step)
            previous = self._forward[-1][..., :-1]  # keyframe j - 1 frames before the previous frame
            support[..., 1:] = _advance(previous, step.forward, step.forward_trust)
        support[..., 0] = 1.0
        self._images.append(image)
        self._forward.append(support)
        self._frames += 1
        if self._frames > len(self._gaps):  # room for this frame's row: double the tables
            self._ahead, self._behind, self._gaps = (
                np.pad(table, ((0, max(64, len(table))), (0, 0)))
                for table in (self._ahead, self._behind, self._gaps)
            )
        if self._frames - 1 - self._evaluated >= 2 * self.radius:
            self._evaluate_batch(self._frames - 1)

    def finish(self) -> ReachCosts:
        """The costs of the whole stream; the builder is spent afterwards."""
        while self._evaluated < self._frames:
            self._evaluate_batch(self._frames - 1)
        frames = self._frames
        return ReachCosts(self.radius, self._ahead[:frames], self._behind[:frames], self._gaps[:frames])

    def _held(self, frame: int) -> int:
        """Where a frame of the stream sits in the held deques."""
        return frame - (self._frames - len(self._images))

    def _evaluate_batch(self, last: int) -> None:
        """Errors of the next K+1 frames (fewer at the end), their backward support swept from ``last``."""
        first = self._evaluated
        end = min(first + self.radius, last)
        for frame, behind in self._backward_sweep(first, end, last):
            self._evaluate(frame, self._forward[self._held(frame)], behind)
        self._evaluated = end + 1

    def _backward_sweep(self, first: int, end: int, last: int) -> list[tuple[int, np.ndarray]]:
        """(frame, (h, w, n+1) support at it of the keyframe j = 0..n frames after it) for frames
        ``first..end``, carrying keyframes back from ``last``; n is at most K."""
        found = []
        support = np.ones((*self._images[-1].shape[:2], 1), np.float32)
        for frame in range(last, first - 1, -1):
            if frame < last:
                step = self._steps[self._held(frame)]  # between frame and frame + 1
                carried = _advance(support[..., : self.radius], step.backward, step.backward_trust)
                support = np.concatenate([np.ones_like(carried[..., :1]), carried], axis=-1)
            if frame <= end:
                found.append((frame, support))
        return found[::-1]

    def _evaluate(self, frame: int, ahead: np.ndarray, behind: np.ndarray) -> None:
        """Errors of one frame from every keyframe within K of it; means over every EVAL_STRIDE-th pixel."""
        k = self.radius
        reach_before, reach_after = min(k, frame), behind.shape[-1] - 1  # keyframes inside the stream
        ahead, behind = ahead[::EVAL_STRIDE, ::EVAL_STRIDE], behind[::EVAL_STRIDE, ::EVAL_STRIDE]
        pixels = ahead.shape[0] * ahead.shape[1]
        a = ahead[..., 1 : reach_before + 1].reshape(pixels, reach_before)
        b = behind[..., 1:].reshape(pixels, reach_after)
        error_ahead, error_behind = self._ahead[frame], self._behind[frame]
        error_ahead[1 : reach_before + 1] = 1.0 - a.mean(axis=0)
        error_behind[1 : reach_after + 1] = 1.0 - b.mean(axis=0)
        both = np.zeros((k + 1, k + 1))
        pooled = np.maximum(a[:, :, None], b[:, None, :]).mean(axis=0)
        both[1 : reach_before + 1, 1 : reach_after + 1] = 1.0 - pooled
        # the frame lies in the gap from keyframe frame - ja to frame + jb: reached from both, or from
        # the one within K
        ja, jb = self._pairs
        value = np.select(
            [
                (ja <= reach_before) & (jb <= reach_after),
                (ja <= reach_before) & (jb > k),
                (ja > k) & (jb <= reach_after),
            ],
            [
                both[np.minimum(ja, k), np.minimum(jb, k)],
                error_ahead[np.minimum(ja, k)],
                error_behind[np.minimum(jb, k)],
            ],
        )
        inside = (frame - ja >= 0) & (value > 0)
        np.add.at(self._gaps, (frame - ja[inside], ja[inside] + jb[inside]), value[inside])


def _gap_pairs(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (ja, jb) with ja, jb >= 1 and ja + jb <= 2K + 1: a frame ja after one keyframe and jb
    before the next, in a gap short enough that one of them reaches it."""
    pairs = [(ja, jb) for ja in range(1, 2 * radius + 1) for jb in range(1, 2 * radius + 2 - ja)]
    ja, jb = np.array(pairs).T
    return ja, jb


def _advance(support: np.ndarray, sampling: SamplingMap, trust: np.ndarray) -> np.ndarray:
    """Support one step on: warped with the labels, kept only where the step is trusted; (h, w, n)."""
    warped = warp_probabilities(support, sampling).reshape(support.shape)
    return warped * trust[..., None]


def working_size(height: int, width: int, long_side: int, short_side: int = 16) -> tuple[int, int]:
    """(height, width) with the long side at most ``long_side`` and the short side at least
    ``short_side`` (room for optical flow's patches), aspect kept, never enlarged."""
    scale = min(1.0, max(long_side / max(height, width), short_side / min(height, width)))
    return max(1, round(height * scale)), max(1, round(width * scale))


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The image at ``size`` (height, width), averaged over the pixels each small one covers."""
    if image.shape[:2] == size:
        return image
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
