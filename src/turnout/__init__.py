"""Turnout: the participant side of real events."""

__version__ = "0.1.0"
