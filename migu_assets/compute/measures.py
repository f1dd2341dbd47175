"""Measures of a month and the measure ledger as of a day (SPEC v2 §5a): SQL reads around ``rules.measures``.

- :func:`measure_rows` — the ``measures`` partition of a month, from the same month's ``credit_grades``,
  ``control_actions`` and ``warning_tiers`` only (facts known when the month is computed).
- :func:`ledger_rows` — every ``measures`` row with its execution (``measure_executions``), supersession, lifting,
  第十条注 lapse and status as of a day. It reads tables only, so the ledger of a day is the same whether the
  months were computed one by one or in one backfill.
- :func:`cooperation_ended` — the ONE place that asks ``rules.settlement.cooperation_end`` (SPEC v2 §7) when a
  partner's cooperation ended, for 第十条注 ``lapsed_on``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from migu_assets import vocabulary as L
from migu_assets.compute.settlement import contracts_and_decisions, partner_violations
from migu_assets.gcpause import cycle_collection_paused
from migu_assets.policy import PolicyBook
from migu_assets.rules import credit as credit_rules
from migu_assets.rules import measures as rules
from migu_assets.rules import settlement as settlement_rules
from migu_assets.rules.credit import MonthResult
from migu_assets.rules.periods import as_date, month_start
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.warehouse import schema as s


def measure_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``measures`` rows of ``month`` (SPEC v2 §5a), ordered by measure_id; grade measures from the bands of the
    month's policy version."""
    credit = book.for_month(month).credit
    out: list[rules.Measure] = []
    g = s.credit_grades
    for r in conn.execute(sa.select(g).where(g.c.month == month)).mappings():
        grade = credit_rules.grade_for(r["credit_score"], credit)
        out += rules.grade_measures(
            r["partner_id"], month, grade, as_date(r["issued_on"]), as_date(r["due_on"]), r["clause"], credit
        )
    a = s.control_actions
    q = sa.select(a).where(a.c.month == month, a.c.action.in_(sorted(rules.CONTROL_ACTIONS)))
    for r in conn.execute(q).mappings():
        who = L.named(L.TARGET_NAMES, r["target"])
        who += {L.SUB_CHANNEL: r["sub_channel_id"], L.BUSINESS: r["business_id"]}.get(r["target"]) or ""
        scope = L.named(L.SCOPE_NAMES, r["scope"])
        m = rules.control_measure(
            r["action_id"],
            r["partner_id"],
            month,
            r["action"],
            f"{who}（{scope}，事件{r['source_event_id']}）",
            as_date(r["start_date"]),
            as_date(r["end_date"]),
            r["clause"],
            r["issuer_requirement"],
        )
        if m is not None:
            out.append(m)
    w = s.warning_tiers
    for r in conn.execute(sa.select(w).where(w.c.month == month)).mappings():
        out += rules.tier_measures(
            r["partner_id"],
            month,
            int(r["tier"]),
            (as_date(r["promotion_suspended_from"]), as_date(r["promotion_suspended_until"])),
            (as_date(r["code_suspended_from"]), as_date(r["code_suspended_until"])),
            r["clause"],
        )
    return [m.row() for m in sorted(out, key=lambda m: m.measure_id)]


def cooperation_ended(conn: sa.Connection, as_of: dt.date) -> dict[str, dt.date]:
    """partner → the day its cooperation ended (SPEC v2 §7, ``rules.settlement.cooperation_end``: the last
    contract's end without renewal, or a ``bad_credit_list`` violation's ``occurred_on``, the earlier day), when on
    or before ``as_of``. The single call site of ``cooperation_end`` for the measures (第十条注)."""
    month = month_start(as_of)
    after = as_of + dt.timedelta(days=1)
    contracts, decisions = contracts_and_decisions(conn, after)  # started by as_of
    violations = partner_violations(conn, after)
    out = {}
    for pid in sorted(set(contracts) | set(violations)):
        end = settlement_rules.cooperation_end(
            month, contracts.get(pid, ()), decisions, violations=violations.get(pid, ())
        )
        if end is not None and end.end_date <= as_of:
            out[pid] = end.end_date
    return out


def month_results(
    conn: sa.Connection, book: PolicyBook, partner_ids: list[str] | None = None
) -> dict[str, dict[dt.date, MonthResult]]:
    """partner → month → its credit result (grade, issue and due dates, supersession, and the measure codes it
    requires under its month's policy version)."""
    g = s.credit_grades
    q = sa.select(g.c.partner_id, g.c.month, g.c.grade, g.c.issued_on, g.c.due_on, g.c.supersedes_month)
    if partner_ids is not None:
        q = q.where(g.c.partner_id.in_(partner_ids))
    out: dict[str, dict[dt.date, MonthResult]] = defaultdict(dict)
    codes: dict[tuple, tuple[str, ...]] = {}  # (month, grade) → its codes: a dozen pairs for 60,000 rows
    for pid, month, grade, issued, due, sup in conn.execute(q):
        month = as_date(month)
        required = codes.get((month, grade))
        if required is None:
            required = codes[month, grade] = credit_rules.required_codes(grade, book.for_month(month).credit)
        out[pid][month] = MonthResult(month, grade, as_date(issued), as_date(due), as_date(sup), required)
    return out


def executions(conn: sa.Connection) -> dict[str, rules.Execution]:
    e = s.measure_executions
    return {
        mid: rules.Execution(as_date(on), by, note)
        for mid, on, by, note in conn.execute(sa.select(e.c.measure_id, e.c.executed_on, e.c.executed_by, e.c.note))
    }


MEASURE_FIELDS = ("measure_id", "partner_id", "month", "source", "code", "due_on", "ends_on", "clause", "reason")


def _measures(rows) -> list[rules.Measure]:
    """``rules.Measure``s of rows selected as :data:`MEASURE_FIELDS` (unpacked: 64,000 rows at full size)."""
    return [
        rules.Measure(mid, pid, as_date(month), source, code, as_date(due), as_date(ends), clause, reason)
        for mid, pid, month, source, code, due, ends, clause, reason in rows
    ]


@cycle_collection_paused()  # 64,000 rows at full size, no cycles among them (gcpause.py)
def ledger_rows(
    conn: sa.Connection,
    book: PolicyBook,
    as_of: dt.date,
    partner_ids: list[str] | None = None,
    results: dict[str, dict[dt.date, MonthResult]] | None = None,
    through: dt.date | None = None,
) -> list[dict]:
    """``measure_ledger`` rows as of ``as_of`` (SPEC v2 §5a), ordered by partner, month, due date and id.

    ``results``: :func:`month_results` of the same partners, when the caller has already read them; ``through``:
    only the measures of months up to this one (a report of that month shows no later measure)."""
    m = s.measures
    q = sa.select(*(m.c[f] for f in MEASURE_FIELDS)).order_by(m.c.partner_id, m.c.month, m.c.due_on, m.c.measure_id)
    if partner_ids is not None:
        q = q.where(m.c.partner_id.in_(partner_ids))
    if through is not None:
        q = q.where(m.c.month <= through)
    measures = _measures(conn.execute(q))
    if not measures:
        return []
    done = executions(conn)
    if results is None:
        results = month_results(conn, book, partner_ids)
    ended = cooperation_ended(conn, as_of)
    calendar = WorkdayCalendar(book.latest.calendar)
    rows = []
    for measure in measures:
        entry = rules.ledger_entry(
            measure,
            as_of,
            execution=done.get(measure.measure_id),
            results=results.get(measure.partner_id, {}),
            cooperation_ended_on=ended.get(measure.partner_id),
            calendar=calendar,
        )
        row = measure.row()
        row.update(entry.__dict__)
        row["as_of"] = as_of
        rows.append(row)
    return rows


# ---------------------------------------------------------------- loader checks of measure_executions (SPEC §1)
_TYPES = {"measure_id": str, "executed_on": dt.date}
