"""The package's exceptions: every user-facing failure is a WarpRefineError with the fix in its text."""

from __future__ import annotations


class WarpRefineError(Exception):
    """Base of every error the command-line tools report without a traceback."""


class UsageError(WarpRefineError, ValueError):
    """An argument value that cannot work; the message names it and what is allowed."""


class LabelError(WarpRefineError):
    """A label image or class spec is malformed."""


class EngineError(WarpRefineError):
    """An engine file is missing, unreadable or incompatible."""


class BagError(WarpRefineError):
    """A bag, topic or message cannot be read as asked."""


class FrameError(BagError):
    """One image message cannot be used (data shorter than its size says, a payload that does not
    decode): that frame is skipped, the stream goes on."""


class DatasetError(WarpRefineError):
    """An output dataset or label directory is inconsistent."""


class IncompleteRun(WarpRefineError):
    """A run that got under way stopped (a full disk, a review bag that could not be written): what it
    wrote is kept, and rerunning the same command finishes it."""
