"""Small row builders for tests: insert exactly the rows a scenario needs."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from migu_assets.warehouse import schema

_ids = itertools.count(1)


def insert(engine: sa.Engine, table: sa.Table, rows: list[dict]) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def partner(pid: str = "P1", start: dt.date = dt.date(2023, 1, 1), **kw) -> dict:
    return {
        "partner_id": pid,
        "name": kw.pop("name", f"测试合作方{pid}"),
        "parent_company_id": kw.pop("parent_company_id", None),
        "on_network_rights_platform": kw.pop("on_network_rights_platform", False),
        "cooperation_start": start,
        **kw,
    }


def ticket(
    pid: str,
    created: dt.datetime,
    category: str = "uninformed_subscription",
    due: dt.datetime | None = None,
    handled: dt.datetime | None | bool = True,
) -> dict:
    due = due or created + dt.timedelta(hours=48)
    if handled is True:
        handled = created + dt.timedelta(hours=1)
    elif handled is False:
        handled = None
    return {
        "ticket_id": f"T{next(_ids):07d}",
        "partner_id": pid,
        "business_id": "B1",
        "province": "BJ",
        "category": category,
        "created_at": created,
        "due_at": due,
        "handled_at": handled,
    }


def complaints_on(pid: str, day: dt.date, n: int, hour: int = 10) -> list[dict]:
    return [ticket(pid, dt.datetime.combine(day, dt.time(hour, i % 60))) for i in range(n)]


def credit_story(engine: sa.Engine) -> None:
    """The hand-computed credit story shared by the credit, report and explain tests (partners not included).

    P1: 10, 10, 15 uninformed complaints on Jan 10, Feb 5, Mar 5 2024 → 2, 2, 3 notifications → monthly 450, 450,
    275. P2: cmcc declaration reviewed 2024-03-20 (counts from March). Feb results issued Apr 1 (due Apr 9), Mar
    results issued Apr 8 — within Feb's 5 working days.
    """
    d = dt.date
    insert(
        engine,
        schema.complaint_tickets,
        complaints_on("P1", d(2024, 1, 10), 10)
        + complaints_on("P1", d(2024, 2, 5), 10)
        + complaints_on("P1", d(2024, 3, 5), 15),
    )
    insert(
        engine,
        schema.importance_declarations,
        [
            {
                "declaration_id": "D1",
                "partner_id": "P2",
                "item": "cmcc_strategic_agreement",
                "authorized_by_parent": None,
                "submitted_on": d(2024, 2, 20),
                "review_status": "approved",
                "reviewed_on": d(2024, 3, 20),
                "minutes_ref": "创新拓展中心会议纪要〔2024〕3号",
            }
        ],
    )
    insert(
        engine,
        schema.credit_issue_dates,
        [{"month": d(2024, 2, 1), "issued_on": d(2024, 4, 1)}, {"month": d(2024, 3, 1), "issued_on": d(2024, 4, 8)}],
    )


def contract(cid: str, pid: str, start: dt.date, end: dt.date, **kw) -> dict:
    """A ``contracts`` row: delivered, launched, qualified, no exit request or signing decision unless given."""
    return {
        "contract_id": cid,
        "partner_id": pid,
        "start_date": start,
        "end_date": end,
        "rights_delivered": True,
        "product_launched": True,
        "launch_blocked_by_partner": False,
        "qualification_ok": True,
        "exit_requested_on": None,
        "decision_on": None,
        "signed_on": None,
        **kw,
    }


def violation(vid: str, pid: str, occurred: dt.date, vtype: int = 3, bad_credit_list: bool = False, **kw) -> dict:
    """A ``major_violations`` row (附件8 item ``vtype``), recorded the next morning unless ``recorded_at`` is given."""
    return {
        "violation_id": vid,
        "partner_id": pid,
        "violation_type": vtype,
        "occurred_on": occurred,
        "recorded_at": kw.pop("recorded_at", dt.datetime.combine(occurred + dt.timedelta(days=1), dt.time(9))),
        "description": kw.pop("description", "违规外呼"),
        "bad_credit_list": bad_credit_list,
        **kw,
    }


def table_rows(
    engine: sa.Engine, table: sa.Table, order_by: list[str] | None = None, with_run_id: bool = False
) -> list[dict]:
    """The table's rows in key order; without ``run_id`` unless asked (two runs computing the same rows differ
    only in the run that wrote them)."""
    cols = order_by or [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    shown = [c for c in table.columns if with_run_id or c.name != "run_id"]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(*shown).order_by(*[table.c[c] for c in cols])).mappings()]


__all__ = ["insert", "partner", "ticket", "complaints_on", "credit_story", "contract", "violation", "table_rows", "schema"]
