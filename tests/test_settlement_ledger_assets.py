"""SPEC v2 §7 settlement ledger through Dagster on SQLite and PostgreSQL: withheld money released, the clearing
period with exit deductions from the ``exit_deductions`` table, supersession read from ``credit_grades``, the
第十条注 lapse, both 第十九条 branches — and a 12-month backfill equal to month-by-month and to months computed
alone in reverse order. Expectations are hand-computed (every item is 100.00 × 0.5 = 50.00)."""

import datetime as dt
from decimal import Decimal

from factories import insert, table_rows
from test_settlement_assets import MONTHS, _materialize, contract, decision, grade_row, item

from migu_assets.compute import settlement as compute
from migu_assets.warehouse import schema

D = dt.date
M = Decimal


def _violation(vid, pid, occurred, listed):
    return {"violation_id": vid, "partner_id": pid, "violation_type": 4, "occurred_on": occurred,
            "recorded_at": dt.datetime.combine(occurred, dt.time(9)), "description": "测试", "bad_credit_list": listed}


def _scenario(engine):
    items = []
    for m in MONTHS:
        items.append(item("GE", m, "100.00", "0.5"))
        items.append(item("HOLD3", m, "100.00", "0.5"))
    for m in MONTHS[:4]:
        items.append(item("EXIT", m, "100.00", "0.5", method="phone_bill"))
        items.append(item("EXIT2", m, "100.00", "0.5", method="phone_bill"))
    for m in MONTHS[:6]:
        items.append(item("BADT", m, "100.00", "0.5", method="phone_bill"))
        items.append(item("BADF", m, "100.00", "0.5"))
        items.append(item("LAPSE", m, "100.00", "0.5"))
    insert(engine, schema.settlement_items, items)
    sup = dict(grade_row("GE", D(2024, 3, 1), "B", "650"), supersedes_month=D(2024, 2, 1))
    insert(engine, schema.credit_grades, [
        grade_row("GE", D(2024, 2, 1), "E", "200"), sup,
        grade_row("GE", D(2024, 6, 1), "E", "200"), grade_row("GE", D(2024, 7, 1), "C", "500"),
        grade_row("LAPSE", D(2024, 3, 1), "E", "200"), grade_row("LAPSE", D(2024, 4, 1), "E", "200"),
    ])
    insert(engine, schema.payment_holds,
           [{"partner_id": "HOLD3", "start_date": D(2024, 4, 10), "end_date": D(2024, 6, 1), "reason": "联动止付"}])
    insert(engine, schema.contracts, [
        contract("C-EXIT", "EXIT", D(2023, 1, 1), D(2024, 2, 29)),
        contract("C-EXIT2", "EXIT2", D(2023, 1, 1), D(2024, 2, 29)),
        contract("C-LAPSE", "LAPSE", D(2023, 1, 1), D(2024, 3, 31)),
        contract("C-BADT", "BADT", D(2023, 1, 1), D(2025, 12, 31)),
    ])
    insert(engine, schema.renewal_decisions, [
        decision("C-EXIT", "EXIT", D(2024, 1, 1), D(2024, 2, 29), "not_renewed"),
        decision("C-EXIT2", "EXIT2", D(2024, 1, 1), D(2024, 2, 29), "partner_exit"),
        decision("C-LAPSE", "LAPSE", D(2024, 2, 1), D(2024, 3, 31), "not_renewed"),
    ])
    insert(engine, schema.exit_deductions, [
        {"deduction_id": "XD1", "partner_id": "EXIT", "contract_id": "C-EXIT", "kind": "penalty",
         "amount": M("25.00"), "recorded_on": D(2024, 6, 1), "note": None},
        {"deduction_id": "XD2", "partner_id": "EXIT2", "contract_id": None, "kind": "unpaid_fees",
         "amount": M("1000.00"), "recorded_on": D(2024, 12, 31), "note": "欠费"},
    ])
    insert(engine, schema.major_violations, [_violation("VT", "BADT", D(2024, 5, 10), True),
                                             _violation("VF", "BADF", D(2024, 5, 10), False)])


def _snapshot(engine):
    return table_rows(engine, schema.settlements, ["month", "partner_id"])


def test_第七章_settlement_ledger_backfill_equals_month_by_month(db_url, engine, policy_book):
    _scenario(engine)
    result = _materialize(db_url)  # the 12 months in one single-run backfill
    backfill = _snapshot(engine)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"settlements_reconcile_with_items": True, "settlements_net_identity": True,
                      "settlements_conserve_money": True}
    rows = {(r["partner_id"], r["month"]): r for r in backfill}

    def col(pid, month, *names):
        return tuple(rows[(pid, D(2024, month, 1))][n] for n in names)

    # 第十条 + 第十四条: February E withheld; March (B, supersedes February) releases it without rewriting February
    assert col("GE", 2, "status", "withheld", "held_balance") == ("held", M("50.00"), M("50.00"))
    assert col("GE", 3, "status", "released", "paid") == ("payable", M("50.00"), M("100.00"))
    assert "2024年02月的结果取代" not in rows[("GE", D(2024, 2, 1))]["reason"]
    assert "该月结果已被2024年03月的结果取代（第十四条），由本月释放" in rows[("GE", D(2024, 3, 1))]["reason"]
    assert col("GE", 7, "released", "paid") == (M("50.00"), M("100.00"))  # June's E, July is C
    # 第十五条: 联动止付 04-10..06-01 → Apr, May, Jun held, July releases 150.00 at once
    assert [col("HOLD3", m, "status")[0] for m in (4, 5, 6, 7)] == ["held"] * 3 + ["payable"]
    assert col("HOLD3", 7, "held_in", "released", "paid") == (M("150.00"), M("150.00"), M("200.00"))
    # 第二十四条: end 02-29 → Mar..Nov held (Mar, Apr with items; May–Nov rows for the balance); December
    # releases 100.00 minus the 25.00 违约金 recorded 06-01
    assert [col("EXIT", m, "status")[0] for m in range(3, 12)] == ["held"] * 9
    assert col("EXIT", 12, "status", "held_in", "exit_deducted", "released", "paid", "held_balance") == (
        "payable", M("100.00"), M("25.00"), M("75.00"), M("75.00"), M("0.00"))
    # a 1,000.00 deduction (recorded 12-31, the release month's last day) > 100.00 held → −900.00 carried out
    assert col("EXIT2", 12, "exit_deducted", "released", "net", "carried_out") == (
        M("100.00"), M("0.00"), M("0.00"), M("-900.00"))
    # 第十条注: LAPSE's contract ended 03-31 → March held by E; April's E no longer holds, April releases March
    assert col("LAPSE", 3, "status", "clause") == ("held", "第十条/E")
    assert col("LAPSE", 4, "status", "released", "paid") == ("payable", M("50.00"), M("100.00"))
    assert "第十条注" in rows[("LAPSE", D(2024, 4, 1))]["reason"]
    # 第十九条: bad_credit_list true → not stopped; cooperation ends 05-10; phone-bill → clearing May .. Dec held
    assert [col("BADT", m, "status")[0] for m in range(1, 13)] == ["payable"] * 4 + ["held"] * 8
    assert col("BADT", 12, "held_balance") == (M("100.00"),)
    assert "不良信用名单" in rows[("BADT", D(2024, 6, 1))]["reason"]
    # bad_credit_list false → stopped from May, never released
    assert [col("BADF", m, "status")[0] for m in range(4, 13)] == ["payable"] + ["stopped"] * 8
    assert col("BADF", 12, "held_balance", "released") == (M("100.00"), M("0.00"))

    with engine.begin() as conn:
        conn.execute(schema.settlements.delete())
    for month in MONTHS:  # month by month, as the monthly schedule would
        _materialize(db_url, str(month), str(month))
    assert _snapshot(engine) == backfill

    alone = []  # each month computed alone, newest first (the rows a recomputation of that month would write)
    with engine.connect() as conn:
        for month in reversed(MONTHS):
            alone += compute.settlement_rows(conn, policy_book, [month])[month]
    computed = [{k: v for k, v in r.items() if k != "policy_version"} for r in backfill]  # stamped when written
    assert sorted(alone, key=lambda r: (r["month"], r["partner_id"])) == computed
