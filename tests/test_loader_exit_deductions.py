"""Loader bad input for ``exit_deductions`` (SPEC v2 §1): an unknown partner, an amount ≤ 0 or an unknown kind is
rejected with the file, row and column named, and nothing of the batch is written; a good file loads."""

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from migu_assets.loader import LoadError, load_file
from migu_assets.warehouse.schema import exit_deductions, partners

HEADER = ["deduction_id", "partner_id", "contract_id", "kind", "amount", "recorded_on", "note"]


def good(**changes: str) -> dict[str, str]:
    row = {"deduction_id": "X1", "partner_id": "P1", "contract_id": "C1", "kind": "penalty", "amount": "3000.00",
           "recorded_on": "2024-09-15", "note": "违约金"}
    return {**row, **changes}


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(exit_deductions)).scalar_one()


@pytest.fixture
def seeded(engine):
    with engine.begin() as conn:
        conn.execute(partners.insert(), [{"partner_id": "P1", "name": "甲公司", "parent_company_id": None,
                                          "on_network_rights_platform": False,
                                          "cooperation_start": dt.date(2023, 1, 1)}])
    return engine


def test_a_good_file_loads(seeded, policy, tmp_path):
    path = write(tmp_path / "exit_deductions.csv", [good(), good(deduction_id="X2", kind="audit", amount="0.01",
                                                              contract_id="", note="")])
    assert load_file(seeded, "exit_deductions", path, policy).inserted == 2
    with seeded.connect() as conn:
        amounts = dict(conn.execute(sa.select(exit_deductions.c.deduction_id, exit_deductions.c.amount)).all())
    assert amounts == {"X1": Decimal("3000.00"), "X2": Decimal("0.01")}


@pytest.mark.parametrize(
    ("column", "bad", "fragment"),
    [
        ("partner_id", "P404", "partners 中没有 partner_id 为 'P404' 的行"),
        ("amount", "0", "必须大于 0"),
        ("amount", "0.00", "必须大于 0"),
        ("amount", "-12.50", "必须大于 0"),
        ("kind", "fine", "应为 penalty、audit、unpaid_fees、other 之一"),
        ("kind", "违约金", "应为 penalty、audit、unpaid_fees、other 之一"),
    ],
)
def test_bad_exit_deduction_is_rejected_naming_file_row_column_and_nothing_is_written(
    seeded, policy, tmp_path, column, bad, fragment
):
    # row 2 is good, row 3 is bad: the whole file is refused
    path = write(tmp_path / "exit_deductions.csv", [good(), good(deduction_id="X2", **{column: bad})])
    with pytest.raises(LoadError) as info:
        load_file(seeded, "exit_deductions", path, policy)
    messages = info.value.messages
    assert all(m.startswith(f"{path}: ") for m in messages), messages  # the file is named
    cells = info.value.cells  # every failing cell: row and column named (the grouped lines cite 第 3 行)
    assert any(c.row == 3 and c.column == column and fragment in c.reason for c in cells), cells
    assert not any(c.row == 2 for c in cells)
    assert stored(seeded) == 0
