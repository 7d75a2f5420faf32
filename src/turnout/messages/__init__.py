"""Messages that travel on the bus: Commands (imperative) and Facts (past tense)."""

from turnout.messages.base import Command, Envelope, Fact, fact_types
from turnout.messages.facts import (
    EventCreated,
    EventStatusChanged,
    GateCreated,
    GateUpdated,
)

__all__ = [
    "Command",
    "Envelope",
    "EventCreated",
    "EventStatusChanged",
    "Fact",
    "GateCreated",
    "GateUpdated",
    "fact_types",
]
