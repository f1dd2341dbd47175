"""SPEC §7 settlements materialised through Dagster on SQLite and PostgreSQL: 第四条 share rounding done in SQL,
第十五条 netting across businesses, 负结算 carry and 联动止付, 第十条 E grade, 第十九条 stop, 第二十四条 clearing
period; idempotent re-runs, months computed alone or out of order, and the reconciliation asset checks
(10,000 items on PostgreSQL). Expectations are hand-computed Decimals."""

import datetime as dt
import itertools
import random
import time
from collections import defaultdict
from decimal import Decimal

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_helpers import resources_for
from factories import contract, insert, table_rows

from migu_assets import definitions
from migu_assets.assets.settlement import settlements_net_identity, settlements_reconcile_with_items
from migu_assets.compute import settlement as compute
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.resources import WarehouseResource
from migu_assets.rules.settlement import item_share
from migu_assets.warehouse import schema

D = dt.date
M = Decimal
SETTLEMENTS = [dg.AssetKey("settlements")]
_ids = itertools.count(1)


def item(pid, month, info_fee, ratio, deductions="0.00", method="third_party", business="B1", channel="app"):
    return {
        "item_id": f"I{next(_ids):08d}",
        "partner_id": pid,
        "business_id": business,
        "month": month,
        "payment_method": method,
        "channel": channel,
        "info_fee": M(info_fee),
        "share_ratio": M(ratio),
        "deductions": M(deductions),
    }


def grade_row(pid, month, grade, score):
    return {
        "partner_id": pid,
        "month": month,
        "credit_score": M(score),
        "grade": grade,
        "measures": "",
        "issued_on": month.replace(day=7),
        "due_on": month.replace(day=14),
        "supersedes_month": None,
        "clause": f"第十条/{grade}",
        "reason": "测试",
    }




def decision(cid, pid, month, end, decision_):
    return {
        "contract_id": cid,
        "partner_id": pid,
        "month": month,
        "end_date": end,
        "decision": decision_,
        "reentry_banned_until": None,
        "late_notice": False,
        "reasons": "测试",
        "clause": "第十七条",
    }


MONTHS = [D(2024, m, 1) for m in range(1, 13)]


def _scenario(engine):
    items = []
    # ROUND (第四条): 0.01×0.5=0.005→0.01, 10.01×0.7=7.007→7.01, 5.35×0.5=2.675→2.68, 0.05×0.5=0.025→0.03,
    # 0.01×0.4=0.004→0.00, twice 0.01×0.5 more → 0.01 each. Share 0.01+7.01+2.68+0.03+0.00+0.02 = 9.75.
    jan = D(2024, 1, 1)
    for fee, ratio in [("0.01", "0.5"), ("10.01", "0.7"), ("5.35", "0.5"), ("0.05", "0.5"), ("0.01", "0.4")]:
        items.append(item("ROUND", jan, fee, ratio))
    items += [item("ROUND", jan, "0.01", "0.5", business="B2"), item("ROUND", jan, "0.01", "0.5", business="B2")]
    # NET (第十五条): Jan B1 100×0.5=50, B2 10×0.5=5 with 80 deducted → partner net −25 (B2 alone −75).
    items += [item("NET", jan, "100.00", "0.5"), item("NET", jan, "10.00", "0.5", "80.00", business="B2")]
    items += [item("NET", D(2024, 2, 1), "200.00", "0.5")]  # 100 − 25 → 75 payable (absorbed)
    items += [item("NET", D(2024, 3, 1), "20.00", "0.5", "50.00")]  # −40 carried
    # April: no items → a row carrying −40
    items += [item("NET", D(2024, 5, 1), "20.00", "0.5")]  # 10 − 40 → −30 carried again (not absorbed)
    items += [item("NET", D(2024, 6, 1), "100.00", "0.6")]  # 60 − 30 → 30 payable
    for m in MONTHS[:6]:
        items.append(item("HOLD", m, "100.00", "0.5"))  # 50.00 a month
        items.append(item("VIOL", m, "100.00", "0.5"))
        items.append(item("GRADE", m, "100.00", "0.5"))
    # EXIT (第二十四条): contract ends 2024-02-29 not renewed → window (2024-02-29, 2024-11-29].
    for m in MONTHS[1:]:
        if m != D(2024, 4, 1):
            items.append(item("EXIT", m, "10.00", "0.5", method="phone_bill"))
        items.append(item("EXIT", m, "20.00", "0.5", business="B2"))  # third_party
    # RENEW: renewed (a later 'abandoned' row is ignored) → not ended; NODEC: no decision row, end passed → ended
    items += [item("RENEW", D(2024, 3, 1), "10.00", "0.5", method="phone_bill")]
    # (SPEC v2: the clearing period needs phone-bill payment during the contract's term — NODEC's February item)
    items += [item("NODEC", m, "10.00", "0.5", method="phone_bill") for m in (D(2024, 2, 1), D(2024, 3, 1))]
    insert(engine, schema.settlement_items, items)
    insert(
        engine,
        schema.payment_holds,
        [{"partner_id": "HOLD", "start_date": D(2024, 3, 15), "end_date": None, "reason": "负结算催缴无效，联动止付"}],
    )
    insert(
        engine,
        schema.major_violations,
        [
            {
                "violation_id": "V1",
                "partner_id": "VIOL",
                "violation_type": 2,
                "occurred_on": D(2024, 4, 20),
                "recorded_at": dt.datetime(2024, 4, 21),
                "description": "测试",
                "bad_credit_list": False,
            }
        ],
    )
    insert(
        engine,
        schema.credit_grades,
        [
            grade_row("GRADE", D(2024, 1, 1), "A", "820"),
            grade_row("GRADE", D(2024, 2, 1), "E", "200"),
            grade_row("GRADE", D(2024, 3, 1), "B", "650"),
        ],
    )
    insert(
        engine,
        schema.contracts,
        [
            contract("C-EXIT", "EXIT", D(2023, 3, 1), D(2024, 2, 29)),
            contract("C-HOLD", "HOLD", D(2023, 3, 1), D(2025, 2, 28)),
            contract("C-RENEW", "RENEW", D(2023, 3, 1), D(2024, 2, 29)),
            contract("C-NODEC", "NODEC", D(2023, 3, 1), D(2024, 2, 29)),
        ],
    )
    insert(
        engine,
        schema.renewal_decisions,
        [
            decision("C-EXIT", "EXIT", D(2024, 1, 1), D(2024, 2, 29), "not_renewed"),
            decision("C-RENEW", "RENEW", D(2024, 1, 1), D(2024, 2, 29), "renew"),
            decision("C-RENEW", "RENEW", D(2024, 8, 1), D(2024, 2, 29), "abandoned"),
        ],
    )


def _by_key(engine):
    return {(r["partner_id"], r["month"]): r for r in table_rows(engine, schema.settlements)}


def _materialize(db_url, first="2024-01-01", last="2024-12-01"):
    """Run the real ``monthly_job`` over ``first..last`` in one run, selecting only ``settlements`` (and its checks).

    The code location's own asset and check definitions are used, with the test warehouse bound as resources
    (``dagster_helpers.materialize_range`` cannot combine ``asset_selection`` with resource overrides).
    """
    test_defs = dg.Definitions(
        assets=definitions.defs.assets,
        asset_checks=definitions.defs.asset_checks,
        jobs=[definitions.monthly_job],
        resources=resources_for(db_url),
    )
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last}
    # An in-memory instance (a SQLite one per run costs seconds), entered so that resolving the definitions sees
    # this live instance's state storage rather than one left behind by another test in the same process.
    with dg.DagsterInstance.ephemeral() as instance:
        result = test_defs.resolve_job_def("monthly_job").execute_in_process(
            instance=instance,
            tags=tags,
            asset_selection=SETTLEMENTS,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    assert result.success
    return result


def test_settlements_through_dagster(db_url, engine):
    _scenario(engine)
    result = _materialize(db_url)
    rows = _by_key(engine)

    # 第四条: per-item half-up rounding, computed in SQL on this database
    r = rows[("ROUND", D(2024, 1, 1))]
    assert (r["gross"], r["partner_share"], r["net"], r["payable"]) == (M("15.45"), M("9.75"), M("9.75"), M("9.75"))
    assert (r["status"], r["clause"]) == ("payable", "第四条")

    # 第十五条: netting across businesses, negative balance carried, absorbed, carried again through an empty month
    cols = ("gross", "partner_share", "deductions", "carried_in", "net", "payable", "carried_out")
    net = [tuple(rows[("NET", D(2024, k, 1))][c] for c in cols) for k in range(1, 7)]
    assert net == [
        (M("110.00"), M("55.00"), M("80.00"), M("0.00"), M("-25.00"), M("0.00"), M("-25.00")),
        (M("200.00"), M("100.00"), M("0.00"), M("-25.00"), M("75.00"), M("75.00"), M("0.00")),
        (M("20.00"), M("10.00"), M("50.00"), M("0.00"), M("-40.00"), M("0.00"), M("-40.00")),
        (M("0.00"), M("0.00"), M("0.00"), M("-40.00"), M("-40.00"), M("0.00"), M("-40.00")),
        (M("20.00"), M("10.00"), M("0.00"), M("-40.00"), M("-30.00"), M("0.00"), M("-30.00")),
        (M("100.00"), M("60.00"), M("0.00"), M("-30.00"), M("30.00"), M("30.00"), M("0.00")),
    ]
    assert ("NET", D(2024, 7, 1)) not in rows  # no items and nothing carried
    assert "负结算-25.00元结转下月" in rows[("NET", D(2024, 1, 1))]["reason"]

    def statuses(pid, months):
        return [(rows[(pid, m)]["status"], rows[(pid, m)]["clause"]) for m in months]

    # 第十五条 联动止付 from 2024-03-15, open-ended: Jan/Feb payable, Mar–Jun held; amounts stay visible
    assert statuses("HOLD", MONTHS[:6]) == [("payable", "第四条")] * 2 + [("held", "第十五条/联动止付")] * 4
    assert rows[("HOLD", D(2024, 3, 1))]["payable"] == M("50.00")
    # 第十九条: violation on 2024-04-20 stops settlement from April on, not before
    assert statuses("VIOL", MONTHS[:6]) == [("payable", "第四条")] * 3 + [("stopped", "第十九条")] * 3
    assert "2024-04-20" in rows[("VIOL", D(2024, 4, 1))]["reason"]
    # 第十条: the month's own E grade holds that month only
    assert statuses("GRADE", MONTHS[:4]) == [
        ("payable", "第四条"),
        ("held", "第十条/E"),
        ("payable", "第四条"),
        ("payable", "第四条"),
    ]
    # 第二十四条 (SPEC v2: every month of the window is held, with or without phone-bill items): end 2024-02-29 →
    # Feb (the end month) payable; Mar–Nov held (end + 9 months = 2024-11-29), April too although it has only
    # third-party items; Dec payable and releases the 9 months at once: 8 × 15.00 + 10.00 (April) = 130.00
    held24 = ("held", "第二十四条/清算期")
    pay = ("payable", "第四条")
    assert statuses("EXIT", MONTHS[1:]) == [pay] + [held24] * 9 + [pay]
    assert "不予续约" in rows[("EXIT", D(2024, 11, 1))]["reason"]
    assert rows[("EXIT", D(2024, 3, 1))]["payable"] == M("15.00")
    dec = rows[("EXIT", D(2024, 12, 1))]
    assert (dec["held_in"], dec["released"], dec["payable"], dec["paid"], dec["held_balance"]) == (
        M("130.00"), M("130.00"), M("15.00"), M("145.00"), M("0.00"))
    assert statuses("RENEW", [D(2024, 3, 1)]) == [pay]
    # NODEC: phone-bill in its term (Feb) → Mar–Nov held (rows for the held balance), December releases March's 5.00
    assert statuses("NODEC", [D(2024, k, 1) for k in range(3, 13)]) == [held24] * 9 + [pay]
    assert "未见续约决定" in rows[("NODEC", D(2024, 3, 1))]["reason"]
    assert rows[("NODEC", D(2024, 12, 1))]["released"] == M("5.00")
    # ledger: the GRADE E month is released by March; HOLD and VIOL keep their balance after their items end
    assert [rows[("GRADE", D(2024, k, 1))]["released"] for k in (2, 3)] == [M("0.00"), M("50.00")]
    assert rows[("HOLD", D(2024, 12, 1))]["held_balance"] == M("200.00")  # 联动止付 still open
    assert rows[("VIOL", D(2024, 12, 1))]["held_balance"] == M("150.00")  # stopped: never released

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "settlements_reconcile_with_items": True,
        "settlements_net_identity": True,
        "settlements_conserve_money": True,
    }


def _snapshot(engine):
    return table_rows(engine, schema.settlements, ["month", "partner_id"])


def test_rerun_and_months_out_of_order_give_identical_rows(db_url, engine, policy_book):
    """SPEC §9 / §7: the carry is recomputed from source items, so order and repetition do not matter."""
    _scenario(engine)
    _materialize(db_url)
    first = _snapshot(engine)
    # NET, HOLD (Jan–Dec: the held balance keeps a row), VIOL (same), GRADE, EXIT, ROUND, RENEW, NODEC (Feb–Dec)
    assert len(first) == 6 + 12 + 12 + 6 + 11 + 1 + 1 + 11
    _materialize(db_url)  # idempotent re-run of the whole range
    assert _snapshot(engine) == first

    with engine.begin() as conn:
        conn.execute(schema.settlements.delete())
    for month in ("2024-06-01", "2024-03-01", "2024-11-01", "2024-04-01"):  # single months, out of order
        _materialize(db_url, month, month)
    done = {D(2024, 6, 1), D(2024, 3, 1), D(2024, 11, 1), D(2024, 4, 1)}
    assert _snapshot(engine) == [r for r in first if r["month"] in done]

    # every month computed alone, newest first, equals the backfill's rows
    alone = []
    with engine.connect() as conn:
        for month in reversed(MONTHS):
            alone += compute.settlement_rows(conn, policy_book, [month])[month]
    computed = [{k: v for k, v in r.items() if k != "policy_version"} for r in first]  # stamped when written
    assert sorted(alone, key=lambda r: (r["month"], r["partner_id"])) == computed


def test_checks_fail_on_a_broken_row(db_url, engine):
    """The checks can fail: a cent off the gross breaks reconciliation, a wrong net breaks the identity."""
    _scenario(engine)
    _materialize(db_url)
    st = schema.settlements
    warehouse = WarehouseResource(url=db_url)
    key = sa.and_(st.c.partner_id == "NET", st.c.month == D(2024, 2, 1))
    with engine.begin() as conn:
        conn.execute(st.update().where(key).values(gross=M("200.01")))
    rec = settlements_reconcile_with_items(warehouse=warehouse)
    assert not rec.passed and rec.metadata["mismatched_months"].value == 1
    assert settlements_net_identity(warehouse=warehouse).passed
    with engine.begin() as conn:
        conn.execute(st.update().where(key).values(gross=M("200.00"), net=M("75.01")))
    assert settlements_reconcile_with_items(warehouse=warehouse).passed
    assert not settlements_net_identity(warehouse=warehouse).passed


def _expected_money(items, months):
    """Independent Python recomputation: per item half-up share, partner netting, the 负结算 recurrence."""
    per = defaultdict(lambda: [M("0.00"), M("0.00"), M("0.00")])
    for it in items:
        acc = per[(it["partner_id"], it["month"])]
        acc[0] += it["info_fee"]
        acc[1] += item_share(it["info_fee"], it["share_ratio"])
        acc[2] += it["deductions"]
    out = {}
    for pid in sorted({p for p, _ in per}):
        carry = M("0.00")
        for m in months:
            gross, share, ded = per.get((pid, m), (M("0.00"),) * 3)
            if (pid, m) not in per and not carry:
                continue
            net = share - ded + carry
            out[(pid, m)] = (gross, share, ded, carry, net, max(net, M("0.00")), min(net, M("0.00")))
            carry = min(net, M("0.00"))
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_reconciliation_with_10000_items_on_postgres(db_url, engine):
    """SPEC §7 'sums reconcile to the cent' at volume: 10,000 items, 250 partners, 12 months, one run, < 15 s."""
    rng = random.Random(20240101)
    items = []
    for n in range(10_000):
        fee = M(rng.randint(0, 5_000_000)) / 100
        ratio = M(rng.randint(0, 7000)) / 10_000
        if n % 10 == 0:  # exact half-cent ties: cents × 0.5 with an odd cent count
            fee, ratio = M(2 * rng.randint(0, 10_000) + 1) / 100, M("0.5")
        deductions = M(rng.randint(0, 2_000_000)) / 100 if n % 7 == 0 else M("0.00")
        items.append(
            {
                "item_id": f"X{n:06d}",
                "partner_id": f"P{n % 250:03d}",
                "business_id": f"B{n % 3}",
                "month": MONTHS[(n // 250) % 12],
                "payment_method": "phone_bill" if n % 2 else "third_party",
                "channel": "app",
                "info_fee": fee,
                "share_ratio": ratio,
                "deductions": deductions,
            }
        )
    with engine.begin() as conn:
        conn.execute(schema.settlement_items.insert(), items)  # executemany: one bulk insert

    started = time.perf_counter()
    result = _materialize(db_url)
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"12 months of 10,000 items took {elapsed:.1f}s"
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "settlements_reconcile_with_items": True,
        "settlements_net_identity": True,
        "settlements_conserve_money": True,
    }

    expected = _expected_money(items, MONTHS)
    cols = ("gross", "partner_share", "deductions", "carried_in", "net", "payable", "carried_out")
    got = {k: tuple(r[c] for c in cols) for k, r in _by_key(engine).items()}
    assert got == expected
    assert any(v[6] < 0 for v in expected.values()) and any(v[3] < 0 and v[5] > 0 for v in expected.values())
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.sum(schema.settlements.c.gross, type_=schema.Money()))).scalar_one()
    assert total == sum((it["info_fee"] for it in items), M("0.00"))
