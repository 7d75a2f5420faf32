"""Moved to ``turnout.adapters.gc``; kept for the callers not moved yet."""

from turnout.adapters.gc import gc_paused

__all__ = ["gc_paused"]
