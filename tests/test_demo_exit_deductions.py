"""Demo rows for ``exit_deductions`` (SPEC v2 §1): the exiting partners P0012 (not renewed, phone-bill, clearing
period) and P0015 (partner exit) owe a 违约金 and a 稽核核减; the rows satisfy the loader contract."""

import datetime as dt
from decimal import Decimal

from migu_assets.demo import build_demo_rows
from migu_assets.loader import TABLES


def test_demo_exit_deductions(policy):
    rows = build_demo_rows()["exit_deductions"]
    assert [(r["partner_id"], r["kind"], r["amount"], r["recorded_on"]) for r in rows] == [
        ("P0012", "penalty", Decimal("3000.00"), dt.date(2024, 4, 20)),
        ("P0015", "audit", Decimal("1250.50"), dt.date(2024, 6, 28)),
    ]
    contract = TABLES["exit_deductions"]
    for row in rows:
        for rule in contract.value_rules:
            assert rule.check(row[rule.column], policy) is None, rule.name
    assert build_demo_rows(months=3)["exit_deductions"] == []  # m4 and m6 are outside a 3-month demo
    assert len(build_demo_rows(partners=40)["exit_deductions"]) == 4  # one per block of 20
