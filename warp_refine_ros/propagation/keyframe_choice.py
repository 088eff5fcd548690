"""Which frames to label next: new keyframes placed to minimise the expected error of the labels
propagated from all keyframes (:class:`ReachCosts`), covering every frame within K first.

A frame's labels depend only on the keyframes either side of it
(:meth:`~warp_refine_ros.propagation.core.KeyframePropagation.plan`), so a stream's error is a sum
over the gaps between consecutive keyframes, and dynamic programming over frame indices finds the
exact optimum for every number of new keyframes. Keyframes already labeled split a stream into
independent pieces; the requested count is spread over the pieces of all streams by combining their
optimal cost curves (a min-plus convolution), so the whole choice is the global optimum of the model.
A frame no keyframe reaches costs more than any placement's error can add up
to, so coverage comes first and the error decides among placements that cover equally.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.propagation.reach import ReachCosts


@dataclass(frozen=True)
class Stream:
    """One camera stream to choose in: its costs and the frame indices already labeled."""

    costs: ReachCosts
    labeled: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What a set of keyframes gives a stream: frames no keyframe reaches, and the summed expected
    error (share of pixels without motion's support) of the frames that are reached."""

    unreached: int
    error: float

    def expected_error(self, frames: int) -> float:
        """Mean over ``frames`` frames of the share of pixels labeled without motion's support, an
        unreached frame counting as wholly missed."""
        return (self.error + self.unreached) / max(frames, 1)

    @classmethod
    def pooled(cls, outcomes: Sequence[Outcome]) -> Outcome:
        """Several streams' outcomes as one."""
        return cls(sum(o.unreached for o in outcomes), sum(o.error for o in outcomes))


@dataclass(frozen=True)
class Choice:
    """New keyframe indices per stream (sorted), with the outcome before and after adding them."""

    new: list[list[int]]
    before: list[Outcome]
    after: list[Outcome]


class _Gaps:
    """The cost of the frames around and between keyframes of one stream; ``miss`` per frame no
    keyframe reaches."""

    def __init__(self, costs: ReachCosts, miss: float) -> None:
        k, frames = costs.radius, costs.frames
        self.k, self.frames, self.miss = k, frames, miss
        self.short = costs.gaps  # (frames, 2K + 2)
        # error of the K frames after keyframe a from it alone, and of the K before b from b alone
        self.after = _diagonal_sums(costs.forward, +1, k)  # after[a] = sum_j forward[a + j, j]
        self.before = _diagonal_sums(costs.backward, -1, k)  # before[b] = sum_j backward[b - j, j]

    def between(self, first: np.ndarray | int, last: np.ndarray | int) -> np.ndarray:
        """Cost of the frames strictly between keyframes ``first`` < ``last`` (arrays broadcast)."""
        first, last = np.broadcast_arrays(np.asarray(first), np.asarray(last))
        gap = last - first
        long_gap = gap > 2 * self.k + 1
        short = self.short[first, np.where(long_gap, 0, gap)]
        far = self.after[first] + self.before[last] + (gap - 1 - 2 * self.k) * self.miss
        return np.where(long_gap, far, short)

    def head(self, first: np.ndarray) -> np.ndarray:
        """Cost of the frames before the stream's first keyframe."""
        return self.before[first] + np.maximum(first - self.k, 0) * self.miss

    def tail(self, last: np.ndarray) -> np.ndarray:
        """Cost of the frames after the stream's last keyframe."""
        return self.after[last] + np.maximum(self.frames - 1 - last - self.k, 0) * self.miss


def _diagonal_sums(errors: np.ndarray, direction: int, k: int) -> np.ndarray:
    """out[i] = sum over j = 1..K of errors[i + direction * j, j], for the frames inside the stream."""
    frames = errors.shape[0]
    out = np.zeros(frames)
    for j in range(1, k + 1):
        if j >= frames:
            break
        if direction > 0:
            out[: frames - j] += errors[j:, j]
        else:
            out[j:] += errors[: frames - j, j]
    return out


@dataclass(frozen=True)
class _Piece:
    """Frames ``low..high-1`` of a stream to place new keyframes in, between the labeled keyframe
    ``left`` (None: the stream's start) and ``right`` (None: its end)."""

    stream: int
    left: int | None
    right: int | None
    low: int
    high: int


def _pieces(streams: Sequence[Stream]) -> list[_Piece]:
    pieces = []
    for number, stream in enumerate(streams):
        bounds = [None, *sorted(set(stream.labeled)), None]
        for left, right in itertools.pairwise(bounds):
            low = 0 if left is None else left + 1
            high = stream.costs.frames if right is None else right
            pieces.append(_Piece(number, left, right, low, high))
    return pieces


def _ends(gaps: _Gaps, piece: _Piece, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost before the first new keyframe at each position, and after the last one."""
    first = gaps.head(positions) if piece.left is None else gaps.between(piece.left, positions)
    last = gaps.tail(positions) if piece.right is None else gaps.between(positions, piece.right)
    return first, last


def _empty_cost(gaps: _Gaps, piece: _Piece) -> float:
    """The piece's cost with no new keyframe."""
    if piece.left is None and piece.right is None:
        return gaps.frames * gaps.miss
    if piece.left is None:
        return float(gaps.head(np.asarray(piece.right)))
    if piece.right is None:
        return float(gaps.tail(np.asarray(piece.left)))
    return float(gaps.between(piece.left, piece.right))


@dataclass
class _Solved:
    """The optimum of one piece for every count of new keyframes, and how to recover its positions."""

    piece: _Piece
    curve: np.ndarray  # curve[n]: least cost with n new keyframes, n = 0..most
    ends: list[int]  # ends[n]: local position of the last of n new keyframes (ends[0] unused)
    pointers: list[np.ndarray]  # pointers[n][x]: the (n-1)-th keyframe before the n-th at x

    def positions(self, count: int) -> list[int]:
        """Frame indices of the optimal ``count`` new keyframes."""
        if count == 0:
            return []
        x = self.ends[count]
        chosen = [x]
        for layer in range(count, 1, -1):
            x = int(self.pointers[layer][x])
            chosen.append(x)
        return sorted(self.piece.low + x for x in chosen)


def _solve(gaps: _Gaps, piece: _Piece, most: int) -> _Solved:
    """Dynamic programming over the piece's frames: best[x] is the least cost of everything up to
    the n-th new keyframe placed at x; one layer per n, each gap length at a time (vectorised)."""
    positions = np.arange(piece.low, piece.high)
    size = len(positions)
    first, last = _ends(gaps, piece, positions)
    solved = _Solved(piece, np.zeros(0), [-1], [np.zeros(0, np.int32)])
    curve = [_empty_cost(gaps, piece)]
    best = first
    for n in range(1, most + 1):
        if n > 1:
            best, previous = _next_layer(gaps, piece, best)
            solved.pointers.append(previous)
        else:
            solved.pointers.append(np.full(size, -1, np.int32))
        total = best + last
        solved.ends.append(int(np.argmin(total)))
        curve.append(float(total[solved.ends[-1]]))
    solved.curve = np.array(curve)
    return solved


def _next_layer(gaps: _Gaps, piece: _Piece, best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """best'[x] = min over y < x of best[y] + cost(y, x), and the y that gives it (local positions)."""
    low, high, k = piece.low, piece.high, gaps.k
    size = high - low
    short = gaps.short[low:high]
    cost, previous = np.full(size, np.inf), np.full(size, -1, np.int32)
    here = np.arange(size, dtype=np.int32)
    for gap in range(1, min(2 * k + 1, size - 1) + 1):
        candidate = best[:-gap] + short[:-gap, gap]
        better = candidate < cost[gap:]
        cost[gap:] = np.where(better, candidate, cost[gap:])
        previous[gap:] = np.where(better, here[:-gap], previous[gap:])
    reach = 2 * k + 2
    if size > reach:  # longer gaps: the K frames after y and the K before x are reached, the rest missed
        leaving = best[:-reach] + gaps.after[low : high - reach] - gaps.miss * here[:-reach]
        lowest, where = np.minimum.accumulate(leaving), _running_argmin(leaving)
        candidate = lowest + gaps.before[low + reach : high] + gaps.miss * (here[reach:] - 1 - 2 * k)
        better = candidate < cost[reach:]
        cost[reach:] = np.where(better, candidate, cost[reach:])
        previous[reach:] = np.where(better, where, previous[reach:])
    return cost, previous


def _running_argmin(values: np.ndarray) -> np.ndarray:
    """out[i] = the index of the smallest of values[:i + 1] (the first of equals)."""
    lowest = np.minimum.accumulate(values)
    is_new = np.concatenate([[True], values[1:] < lowest[:-1]])
    return np.maximum.accumulate(np.where(is_new, np.arange(len(values)), 0))


def _allocate(curves: Sequence[np.ndarray], count: int) -> list[int]:
    """How many new keyframes each piece gets so that their summed cost is least (min-plus
    convolution of the pieces' curves, exact); the counts add up to ``count``."""
    table = np.zeros(1)  # table[t]: least cost of t keyframes over the pieces so far
    picks = []
    for curve in curves:
        size = min(count, len(table) - 1 + len(curve) - 1) + 1
        merged, pick = np.full(size, np.inf), np.zeros(size, int)
        for n, value in enumerate(curve):
            width = min(len(table), size - n)
            if width <= 0:
                break
            candidate = table[:width] + value
            better = candidate < merged[n : n + width]
            merged[n : n + width][better] = candidate[better]
            pick[n : n + width][better] = n
        table = merged
        picks.append(pick)
    counts, left = [], count
    for pick in reversed(picks):
        counts.append(int(pick[left]))
        left -= counts[-1]
    return counts[::-1]


def evaluate(costs: ReachCosts, keyframes: Sequence[int]) -> Outcome:
    """Frames no keyframe reaches within K, and the summed expected error of the others."""
    gaps = _Gaps(costs, miss=0.0)
    keys = np.array(sorted(set(keyframes)), dtype=int)
    if len(keys) == 0:
        return Outcome(costs.frames, 0.0)
    error = float(gaps.head(keys[:1])[0] + gaps.tail(keys[-1:])[0])
    error += float(gaps.between(keys[:-1], keys[1:]).sum()) if len(keys) > 1 else 0.0
    distance = np.abs(np.arange(costs.frames)[:, None] - keys[None, :]).min(axis=1)
    return Outcome(int((distance > costs.radius).sum()), error)


def choose(streams: Sequence[Stream], count: int) -> Choice:
    """The ``count`` new keyframes, over all streams, that minimise the frames left unreached and
    then the summed expected error of every frame of every stream."""
    capacity = sum(s.costs.frames - len(set(s.labeled)) for s in streams)
    if not 0 <= count <= capacity:
        raise ValueError(f"count must be 0..{capacity} (the frames not labeled yet), got {count}")
    miss = sum(s.costs.frames for s in streams) + 1.0  # more than any sum of errors (each <= 1)
    gaps = [_Gaps(s.costs, miss) for s in streams]
    solved = [_solve(gaps[p.stream], p, min(count, p.high - p.low)) for p in _pieces(streams)]
    new: list[list[int]] = [[] for _ in streams]
    for piece_solved, n in zip(solved, _allocate([s.curve for s in solved], count), strict=True):
        new[piece_solved.piece.stream] += piece_solved.positions(n)
    before = [evaluate(s.costs, s.labeled) for s in streams]
    after = [evaluate(s.costs, [*s.labeled, *added]) for s, added in zip(streams, new, strict=True)]
    return Choice([sorted(n) for n in new], before, after)
