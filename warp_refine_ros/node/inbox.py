"""Hand-over from ROS callbacks to the labeling thread: images bounded and counted, keyframes kept.

Callbacks must return at once, so they only queue messages. When labeling falls behind the camera, the
oldest queued image is dropped (and counted for /diagnostics) so the node labels recent frames instead
of lagging ever further; keyframe labels are few and precious and are never dropped here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

MessageT = TypeVar("MessageT")


@dataclass(frozen=True)
class Delivery(Generic[MessageT]):
    """A queued message, when it arrived (time.monotonic()) and whether it is a keyframe label."""

    message: MessageT
    received: float
    keyframe: bool


class Inbox(Generic[MessageT]):
    """Thread-safe queue: at most ``capacity`` images (oldest dropped), unbounded keyframe labels."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"inbox capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.dropped = 0  # images dropped because labeling was behind
        self._frames: deque[Delivery[MessageT]] = deque()
        self._keyframes: deque[Delivery[MessageT]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._restart: str | None = None  # why the stream starts over, until the labeling thread takes it

    def put_frame(self, message: MessageT) -> bool:
        """Queue an image; drop the oldest queued one if the queue is full (then True)."""
        with self._ready:
            full = len(self._frames) >= self.capacity
            if full:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(Delivery(message, time.monotonic(), keyframe=False))
            self._ready.notify()
            return full

    def put_keyframe(self, message: MessageT) -> None:
        """Queue a keyframe label; it is handed out before any queued image."""
        with self._ready:
            self._keyframes.append(Delivery(message, time.monotonic(), keyframe=True))
            self._ready.notify()

    def get(self, timeout: float | None = None) -> Delivery[MessageT] | None:
        """The next message (keyframe labels first), or None on timeout, once closed, or while a restart
        waits to be taken."""
        with self._ready:
            ready = self._ready.wait_for(
                lambda: self._closed or self._restart is not None or self._keyframes or self._frames, timeout
            )
            if not ready or self._closed or self._restart is not None:
                return None
            if self._keyframes:
                return self._keyframes.popleft()
            return self._frames.popleft() if self._frames else None

    def restart(self, reason: str) -> None:
        """The stream starts over (the clock jumped): drop the images queued before, and hand out nothing
        more until the labeling thread has taken the reason (:meth:`take_restart`)."""
        with self._ready:
            self._frames.clear()
            self._restart = reason
            self._ready.notify()

    def take_restart(self) -> str | None:
        """Why the stream starts over, once, if it does."""
        with self._ready:
            reason, self._restart = self._restart, None
            return reason

    @property
    def waiting(self) -> int:
        """Images queued now."""
        with self._ready:
            return len(self._frames)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake the labeling thread for good."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
