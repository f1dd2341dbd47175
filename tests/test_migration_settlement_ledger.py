"""Migration 0103 (SPEC v2 §1, §7): a warehouse at the previous revision holding settlement rows upgrades in place
with ``migu-assets init`` (``migrate.upgrade``) — rows kept, ledger columns after ``carried_out`` filled so that
money is conserved, ``exit_deductions`` created — on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from alembic import command

from migu_assets.compute import settlement as compute
from migu_assets.warehouse import migrate
from migu_assets.warehouse.schema import ExactDecimal, exit_deductions, settlements

D = dt.date
M = Decimal
PREVIOUS = "0002"


MONEY = ("gross", "partner_share", "deductions", "carried_in", "net", "payable", "carried_out")


def _old_settlements(dialect: str) -> sa.TableClause:
    """``settlements`` as revision 0002 has it (no ledger columns; on SQLite money was stored as integer cents)."""
    money = [sa.column(c, sa.BigInteger if dialect == "sqlite" else ExactDecimal(14, 2)) for c in MONEY]
    return sa.table("settlements", sa.column("partner_id", sa.String), sa.column("month", sa.Date), *money,
                    sa.column("status", sa.String), sa.column("clause", sa.Text), sa.column("reason", sa.Text))


def _row(pid, month, payable, status, net=None):
    net = M(net) if net is not None else M(payable)
    return {"partner_id": pid, "month": month, "gross": M("1000.00"), "partner_share": M(payable),
            "deductions": M(payable) - net, "carried_in": M("0.00"), "net": net, "payable": M(payable),
            "carried_out": min(net, M("0.00")), "status": status, "clause": "第四条", "reason": "旧版结算记录"}


def test_upgrade_from_the_previous_revision_keeps_settlement_rows_and_fills_the_ledger(engine):
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, PREVIOUS)
    assert "exit_deductions" not in sa.inspect(engine).get_table_names()
    old = [
        _row("P1", D(2024, 1, 1), "100.00", "payable"),
        _row("P1", D(2024, 2, 1), "12345.67", "held"),
        _row("P1", D(2024, 3, 1), "30.00", "payable"),
        _row("P2", D(2024, 2, 1), "0.00", "payable", net="-5.00"),
        _row("P3", D(2024, 1, 1), "40.00", "stopped"),
        _row("P3", D(2024, 2, 1), "60.00", "stopped"),
    ]
    if engine.dialect.name == "sqlite":  # revision 0002's storage: scaled integers (cents)
        old = [{k: int(v * 100) if k in MONEY else v for k, v in row.items()} for row in old]
    with engine.begin() as conn:
        conn.execute(_old_settlements(engine.dialect.name).insert(), old)

    assert migrate.upgrade(engine) == migrate.head_revision()

    columns = [c["name"] for c in sa.inspect(engine).get_columns("settlements")]
    i = columns.index("carried_out")
    assert columns[i + 1:i + 7] == ["held_in", "withheld", "released", "exit_deducted", "paid", "held_balance"]
    assert not any(c["nullable"] for c in sa.inspect(engine).get_columns("settlements") if c["name"] == "paid")
    assert {ix["name"] for ix in sa.inspect(engine).get_indexes("settlements")} >= {"ix_settlements_month"}
    with engine.connect() as conn:
        rows = {(r["partner_id"], r["month"]): r for r in conn.execute(sa.select(settlements)).mappings()}
        assert conn.execute(sa.select(sa.func.count()).select_from(exit_deductions)).scalar_one() == 0
        assert compute.conservation_violations(conn) == []
        assert compute.arithmetic_violations(conn) == 0
    assert len(rows) == 6
    ledger = ("held_in", "withheld", "released", "exit_deducted", "paid", "held_balance")

    def got(pid, month):
        return tuple(rows[(pid, month)][c] for c in ledger)

    assert rows[("P1", D(2024, 2, 1))]["reason"] == "旧版结算记录" and rows[("P1", D(2024, 2, 1))]["gross"] == M(
        "1000.00")
    assert got("P1", D(2024, 1, 1)) == (M("0.00"), M("0.00"), M("0.00"), M("0.00"), M("100.00"), M("0.00"))
    assert got("P1", D(2024, 2, 1)) == (M("0.00"), M("12345.67"), M("0.00"), M("0.00"), M("0.00"), M("12345.67"))
    assert got("P1", D(2024, 3, 1)) == (M("12345.67"), M("0.00"), M("12345.67"), M("0.00"), M("12375.67"),
                                        M("0.00"))
    assert got("P3", D(2024, 2, 1)) == (M("40.00"), M("60.00"), M("0.00"), M("0.00"), M("0.00"), M("100.00"))
    # the upgraded warehouse takes new rows with the ledger and exit deductions
    with engine.begin() as conn:
        conn.execute(exit_deductions.insert(), [{"deduction_id": "X1", "partner_id": "P1", "contract_id": None,
                                                 "kind": "penalty", "amount": M("0.01"),
                                                 "recorded_on": D(2024, 4, 1), "note": None}])
        assert conn.execute(sa.select(exit_deductions.c.amount)).scalar_one() == M("0.01")
