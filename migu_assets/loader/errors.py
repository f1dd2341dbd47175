"""What a load returns or raises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class LoadError(Exception):
    """A file or frame was rejected; nothing was written. ``messages`` has one line per problem."""

    def __init__(self, messages: Iterable[str] | str):
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))

    def __str__(self) -> str:
        return "\n".join(self.messages)


@dataclass(frozen=True)
class LoadResult:
    """``inserted`` new rows; ``unchanged`` rows whose primary key already held exactly these values."""

    table: str
    inserted: int
    unchanged: int


@dataclass(frozen=True, order=True)
class Finding:
    """One offending cell: the row's position in the frame (0-based), the column, and why."""

    position: int
    column: str
    reason: str
