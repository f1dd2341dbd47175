"""What a load returns or raises, and how its problems are told: grouped by rule, every cell on request."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

FIRST_ROWS = 3  # rows named in a grouped line
KEEP = 2_000  # failing cells kept in memory on the error (all of them go to --errors FILE)


@dataclass(frozen=True, order=True)
class Finding:
    """One failing cell: its row in the file (header = 1), column, the value as written, the rule and why."""

    row: int
    column: str
    value: str
    rule: str
    reason: str


class LoadError(Exception):
    """A file or frame was rejected; nothing was written.

    ``messages`` has one line per rule that failed (with its count and first rows) or per file-level problem;
    ``cells`` the first :data:`KEEP` failing cells; ``count`` how many cells failed in all.
    """

    def __init__(self, messages: Iterable[str] | str, cells: list[Finding] | None = None, count: int = 0):
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        self.cells: list[Finding] = cells or []
        self.count = count or len(self.cells)
        self.errors_written = False  # every failing cell already went to the --errors file (Findings)
        super().__init__("\n".join(self.messages))

    def __str__(self) -> str:
        return "\n".join(self.messages)


@dataclass(frozen=True)
class LoadResult:
    """``inserted`` new rows; ``unchanged`` rows whose primary key already held exactly these values."""

    table: str
    inserted: int
    unchanged: int
    notes: tuple[str, ...] = field(default=(), compare=False)
    dry_run: bool = field(default=False, compare=False)


def rows_text(rows: list[int], total: int) -> str:
    shown = "、".join(f"{r:,}" for r in rows[:FIRST_ROWS])
    more = total - min(len(rows), FIRST_ROWS)
    return f"第 {shown} 行" + (f" … 及另外 {more:,} 行" if more > 0 else "")


@dataclass
class _Group:
    column: str
    rule: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    first: Finding | None = None


class Findings:
    """Collects failing cells: grouped for the message, the first :data:`KEEP` in memory, all to ``errors``."""

    def __init__(self, source: str, errors: Path | None = None):
        self.source, self.errors = source, errors
        self._file: TextIO | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every finding (the file is read again from the start)."""
        self.close()
        errors = self.errors
        self.groups: dict[tuple[str, str], _Group] = {}
        self.kept: list[Finding] = []
        self.count = 0
        self._writer = None
        if errors is not None:
            self._file, self._writer = _errors_csv(errors)

    def add(self, finding: Finding) -> None:
        self.count += 1
        group = self.groups.setdefault((finding.column, finding.rule), _Group(finding.column, finding.rule))
        group.count += 1
        if len(group.rows) < FIRST_ROWS:
            group.rows.append(finding.row)
        if group.first is None:
            group.first = finding
        if len(self.kept) < KEEP:
            self.kept.append(finding)
        if self._writer is not None:
            self._writer.writerow([self.source, finding.row, finding.column, finding.value, finding.rule,
                                   finding.reason])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __bool__(self) -> bool:
        return self.count > 0

    def messages(self, order: dict[str, int]) -> list[str]:
        lines = []
        for g in sorted(self.groups.values(), key=lambda g: (min(g.rows), order.get(g.column, 99), g.rule)):
            first = g.first
            assert first is not None
            lines.append(f"{self.source}: {g.rule} — {g.count:,} 行（{rows_text(sorted(g.rows), g.count)}）；"
                         f"如第 {first.row:,} 行：{first.reason}")
        return lines

    def error(self, order: dict[str, int], extra: list[str] | None = None) -> LoadError:
        self.close()
        error = LoadError([*(extra or []), *self.messages(order)], sorted(self.kept), self.count)
        error.errors_written = self.errors is not None and not extra
        return error


ERRORS_HEADER = ["file", "row", "column", "value", "rule", "reason"]


def _errors_csv(path: Path):
    handle = path.open("w", newline="", encoding="utf-8-sig")  # Excel opens it with the BOM
    writer = csv.writer(handle)
    writer.writerow(ERRORS_HEADER)
    return handle, writer


def write_rejection(path: Path, source: str, error: LoadError) -> None:
    """The ``--errors`` file of a rejection that did not come cell by cell (a header, the file itself, the
    warehouse): its cells, or one line per message with the row and column it names where it names none."""
    handle, writer = _errors_csv(path)
    with handle:
        for cell in error.cells:
            writer.writerow([source, cell.row, cell.column, cell.value, cell.rule, cell.reason])
        if not error.cells:
            prefix = f"{source}: "
            for message in error.messages:
                writer.writerow([source, "", "", "", "文件", message.removeprefix(prefix)])
