"""SPEC v2 §7 seen by staff: the Excel 结算 sheet, ``explain`` and ``partner_status`` show what was withheld,
released and is still held, with the Chinese reason (e.g. "2024年02月评级E，暂停结算，本月应付12,345.67元暂扣；
累计暂扣…"). Rows are computed by the real settlement code from a small history (one partner, grade E in
February, released in March)."""

import datetime as dt
from decimal import Decimal

import openpyxl
from factories import insert, partner
from test_settlement_assets import grade_row, item

from migu_assets.compute import settlement as compute
from migu_assets.compute.status import partner_status_rows
from migu_assets.explain import explain
from migu_assets.report import build_report
from migu_assets.warehouse import schema

D = dt.date
M = Decimal


def _ledger(engine, policy_book):
    insert(engine, schema.partners, [partner("P1")])
    insert(engine, schema.settlement_items, [
        item("P1", D(2024, 1, 1), "200.00", "0.5"),
        item("P1", D(2024, 2, 1), "24691.34", "0.5"),  # 12,345.67
        item("P1", D(2024, 3, 1), "60.00", "0.5"),
    ])
    insert(engine, schema.credit_grades, [grade_row("P1", D(2024, 2, 1), "E", "200")])
    with engine.begin() as conn:
        rows = compute.settlement_rows(conn, policy_book, [D(2024, m, 1) for m in (1, 2, 3)])
        conn.execute(schema.settlements.insert(), [r for month in rows.values() for r in month])


def test_结算_sheet_explain_and_partner_status_show_the_ledger(engine, policy_book, tmp_path):
    _ledger(engine, policy_book)

    feb = build_report(engine, D(2024, 2, 1), tmp_path / "feb.xlsx").path
    ws = openpyxl.load_workbook(feb)["结算"]
    header = [c.value for c in ws[1]]
    assert header[header.index("结转下月") + 1:header.index("结算状态")] == [
        "上月累计暂扣", "本月暂扣", "本月释放", "退出扣款", "本月实付", "累计暂扣"]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert M(str(row["本月暂扣"])) == M("12345.67") and M(str(row["累计暂扣"])) == M("12345.67")
    assert M(str(row["本月实付"])) == 0
    assert row["原因"].startswith("暂缓支付：2024年02月评级E，暂停结算（第十条）；本月应付12,345.67元暂扣；"
                                "累计暂扣12,345.67元（自2024年02月起）")

    mar = build_report(engine, D(2024, 3, 1), tmp_path / "mar.xlsx").path
    ws = openpyxl.load_workbook(mar)["结算"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert (M(str(row["本月释放"])), M(str(row["本月实付"]))) == (M("12345.67"), M("12375.67"))
    total = dict(zip(header, [c.value for c in ws[ws.max_row]], strict=True))  # the 合计 row: SUBTOTAL formulas
    assert str(total["本月释放"]).startswith("=SUBTOTAL(109,")  # follows the filter
    released = [r[header.index("本月释放")].value for r in ws.iter_rows(min_row=2, max_row=ws.max_row - 1)]
    assert sum(M(str(v)) for v in released) == M("12345.67")

    with engine.connect() as conn:
        text = explain(conn, "P1", D(2024, 2, 1)).render()
        assert "结算台账：上月累计暂扣0.00元，本月暂扣12345.67元，本月释放0.00元，本月实付0.00元，累计暂扣12345.67元。" in text
        assert "本月应付12,345.67元暂扣" in text
        text = explain(conn, "P1", D(2024, 3, 1)).render()
        assert "本月释放12345.67元" in text and "释放此前暂扣款12,345.67元（2024年02月12,345.67元（第十条/E））" in text

        status = {r["partner_id"]: r for r in partner_status_rows(conn, D(2024, 3, 10))}["P1"]
        assert "最近结算（2024年02月）：暂停支付（本月应付12,345.67元暂扣，实付0.00元，累计暂扣12,345.67元）" in status[
            "reason"]
        status = {r["partner_id"]: r for r in partner_status_rows(conn, D(2024, 4, 1))}["P1"]
        assert "最近结算（2024年03月）：正常结算（释放此前暂扣12,345.67元，实付12,375.67元）" in status["reason"]
