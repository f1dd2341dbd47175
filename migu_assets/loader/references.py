"""Rules that need the warehouse: partner references and the parent's exclusive authorisation (SPEC §1, §4.2).

Each check takes the open connection, the typed frame (positions 0..n-1) and the policy, and yields
``(position, reason)`` for every offending row. Look-ups go through :func:`fetch_in_chunks`, so a large file costs
a bounded number of bounded queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from migu_assets.loader.values import ROW, show, usable
from migu_assets.policy import Policy
from migu_assets.warehouse.schema import importance_declarations, partners

CHUNK = 500  # keys per IN (...) query


def fetch_in_chunks(conn: sa.Connection, select: sa.Select, key: sa.ColumnElement, keys: Iterable[Any],
                    chunk: int | None = None) -> Iterator[sa.Row]:
    """Run ``select`` with ``key IN (…)`` for every chunk of distinct ``keys``; ``key`` may be a ``tuple_``."""
    size = chunk or CHUNK
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), size):
        yield from conn.execute(select.where(key.in_(distinct[start:start + size])))


def _partner_parents(conn: sa.Connection, partner_ids: Iterable[str]) -> dict[str, str | None]:
    """partner_id → parent_company_id for the partners that exist."""
    query = sa.select(partners.c.partner_id, partners.c.parent_company_id)
    return {row.partner_id: row.parent_company_id for row in fetch_in_chunks(conn, query, partners.c.partner_id,
                                                                              partner_ids)}


def _present(frame: pd.DataFrame, columns: Sequence[str]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(position, values) of the rows where every one of ``columns`` holds a well-typed value."""
    for position, values in enumerate(zip(*(frame[c].tolist() for c in columns), strict=True)):
        if all(usable(v) for v in values):
            yield position, values


def partner_exists(conn: sa.Connection, frame: pd.DataFrame, _: Policy) -> Iterator[tuple[int, str]]:
    """SPEC §1: the partner must exist — in the ``partners`` table of the warehouse (load partners first)."""
    rows = list(_present(frame, ["partner_id"]))
    known = _partner_parents(conn, (pid for _, (pid,) in rows))
    for position, (pid,) in rows:
        if pid not in known:
            yield position, f"partner {show(pid)} does not exist in partners (load the partner first)"


def authorised_by_own_parent(conn: sa.Connection, frame: pd.DataFrame, _: Policy) -> Iterator[tuple[int, str]]:
    """SPEC §4.2: a subsidiary carries its parent's item only when ``authorized_by_parent`` names that parent."""
    rows = list(_present(frame, ["partner_id", "authorized_by_parent"]))
    parents = _partner_parents(conn, (pid for _, (pid, _parent) in rows))
    for position, (pid, named) in rows:
        if pid not in parents:
            continue  # reported by partner_exists
        actual = parents[pid]
        if actual != named:
            has = f"its parent_company_id is {show(actual)}" if actual else "it has no parent_company_id"
            yield position, f"{show(named)} is not the parent company of partner {show(pid)} ({has})"


def exclusive_authorisation(conn: sa.Connection, frame: pd.DataFrame, _: Policy) -> Iterator[tuple[int, str]]:
    """SPEC §1/§4.2 独家授权: at most one subsidiary holds an approved declaration authorised by a given parent.

    Approved declarations already in the warehouse come first (the oldest id if the warehouse already breaks the
    rule), then the file's rows in order, so among new declarations the first subsidiary in the file wins. A file
    row that is already in the warehouse holds for its own subsidiary, so re-loading it is not an error.
    """
    columns = ["declaration_id", "partner_id", "authorized_by_parent", "review_status"]
    rows = [(pos, v) for pos, v in _present(frame, columns) if v[3] == "approved"]
    if not rows:
        return
    d = importance_declarations.c
    query = (sa.select(d.declaration_id, d.partner_id, d.authorized_by_parent)
             .where(d.review_status == "approved").order_by(d.declaration_id))
    holders: dict[str, tuple[str, str, str]] = {}  # parent → (partner_id, declaration_id, where)
    for row in fetch_in_chunks(conn, query, d.authorized_by_parent, (v[2] for _, v in rows)):
        holders.setdefault(row.authorized_by_parent, (row.partner_id, row.declaration_id, "in the warehouse"))
    row_numbers = frame[ROW].tolist()
    for position, (declaration_id, pid, parent, _status) in rows:
        holder = holders.setdefault(parent, (pid, declaration_id, f"row {row_numbers[position]}"))
        if holder[0] != pid:
            other_pid, other_id, where = holder
            yield position, (
                f"独家授权 (exclusive authorisation): parent {show(parent)} already authorised subsidiary "
                f"{show(other_pid)} by approved declaration {show(other_id)} ({where}); only one subsidiary may hold "
                "an approved declaration authorised by a given parent"
            )
