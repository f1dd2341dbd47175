"""The monthly Excel report (issue 7): the `monthly_report` asset and `migu-assets report` build the same workbook
from a hand-computed scenario; Chinese headers, frozen header rows, real dates and numbers, totals equal to the
database, and partner names that look like formulas stay literal text. Also the UI charts of credit_grades and
warning_tiers."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import dagster as dg
import openpyxl
import pytest
import sqlalchemy as sa
from dagster_helpers import materialize_range
from factories import complaints_on, contract, credit_story, insert, partner
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.report import SHEET_NAMES, build_report
from migu_assets.report.xlsx import CHARTS, display_width
from migu_assets.warehouse import migrate, schema
from migu_assets.warehouse.engine import engine_for

D = dt.date
M = Decimal
EVIL = "=cmd|' /C calc'!A0"
AT = "@SUM(A1)"
MARCH = D(2024, 3, 1)


def scenario(engine) -> None:
    """Jan–Mar 2024, hand-computed (see tests/test_credit_assets.py for P1/P2):

    - P1: 2, 2, 3 notifications → monthly 450, 450, 275 → March credit 362.50, grade D (第十条/D), March result issued
      Apr 8 while Feb's C was due Apr 9 → supersedes Feb (第十四条). Dial test in GD on Mar 7 (附件3). Contract C2 ends
      2024-04-15 with rights not delivered (第十七条 → not_renewed, reviewed in March).
    - P2: starts Feb, declaration approved Mar 20 → A in March.
    - P3 "=cmd|' /C calc'!A0": starts Mar, 25 complaints on Mar 12 → 5 notifications → 一级预警 (附件7), health 0,
      monthly 100 → F; its settlement is negative (carried out).
    - P4 "@SUM(A1)": nothing happens → A; contract C1 ends 2024-04-30 → renew (第二十三条).
    """
    insert(
        engine,
        schema.partners,
        [
            partner("P1"),
            partner("P2", start=D(2024, 2, 1)),
            partner("P3", start=MARCH, name=EVIL),
            partner("P4", name=AT),
        ],
    )
    credit_story(engine)  # P1 and P2 as in tests/test_credit_assets.py
    insert(engine, schema.complaint_tickets, complaints_on("P3", D(2024, 3, 12), 25))
    insert(
        engine,
        schema.control_events,
        [
            {
                "event_id": "E1",
                "partner_id": "P1",
                "business_id": "B1",
                "sub_channel_id": "S1",
                "event_type": "dial_test_provincial",
                "province": "GD",
                "event_date": D(2024, 3, 7),
                "issuer_requirement": None,
            }
        ],
    )
    items = [
        ("I1", "P1", "B1", "phone_bill", "12345.67", "0.6000", "100.00"),
        ("I2", "P1", "B2", "third_party", "1000.01", "0.5000", "0.00"),
        ("I3", "P2", "B1", "third_party", "50000.00", "0.7000", "2500.50"),
        ("I4", "P3", "B1", "phone_bill", "999.99", "0.3000", "1200.00"),
    ]
    insert(
        engine,
        schema.settlement_items,
        [
            {
                "item_id": iid,
                "partner_id": pid,
                "business_id": bid,
                "month": MARCH,
                "payment_method": method,
                "channel": "app",
                "info_fee": M(fee),
                "share_ratio": M(ratio),
                "deductions": M(ded),
            }
            for iid, pid, bid, method, fee, ratio, ded in items
        ],
    )
    insert(
        engine,
        schema.contracts,
        [
            contract("C1", "P4", D(2023, 5, 1), D(2024, 4, 30)),
            contract("C2", "P1", D(2023, 4, 16), D(2024, 4, 15), rights_delivered=False),
        ],
    )


def run_chain(db_url: str) -> list:
    """Daily counts Jan 1–Mar 31 in one run, then the monthly chain Jan–Mar in one run, then what follows each
    successful monthly computation (the daemon's report_after_monthly_runs → report_job and
    notices_after_monthly_runs → notices_job); returns the results of the computation and of the workbook run."""
    assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-03-31").success
    result = materialize_range(db_url, "monthly_job", "2024-01-01", "2024-03-01")
    assert result.success
    workbooks = materialize_range(db_url, "report_job", "2024-01-01", "2024-03-01")
    assert workbooks.success
    assert materialize_range(db_url, "notices_job", "2024-01-01", "2024-03-01").success
    return [result, workbooks]


def materialization(results, asset: str):
    events = [
        e.event_specific_data.materialization
        for result in (results if isinstance(results, list) else [results])
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.to_user_string() == asset
    ]
    assert events, asset
    return events[-1]  # a single-run range reports one event per partition, all with the run's metadata


def data_rows(ws) -> list[tuple]:
    """Rows between the header and the 合计 row."""
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows and rows[-1][0] == "合计", ws.title
    return rows[:-1]


def headers(ws) -> list[str]:
    return [c.value for c in ws[1]]


def column(ws, header: str) -> int:
    return headers(ws).index(header)


SUBTOTAL = re.compile(r"^=SUBTOTAL\((109|103),([A-Z]+)(\d+):([A-Z]+)(\d+)\)$")


def total(ws, j: int):
    """The value of the 合计 row's cell in column ``j`` (0-based) as Excel computes it with no filter set."""
    value = ws.cell(ws.max_row, j + 1).value
    if not (isinstance(value, str) and value.startswith("=")):
        return value
    function, col, first, _col, last = SUBTOTAL.match(value).groups()
    cells = [ws[f"{col}{r}"].value for r in range(int(first), int(last) + 1)]
    assert int(last) == ws.max_row - 1, "the total covers exactly the data rows"
    if function == "103":
        return sum(1 for v in cells if v not in (None, ""))
    return sum((M(str(v)) for v in cells if v is not None), M("0"))


def db_count(engine, table, month=MARCH) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(table.c.month == month)).scalar_one()


def db_sum(engine, col, month=MARCH) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.sum(col)).where(col.table.c.month == month)).scalar_one()


# ------------------------------------------------------------------ both databases


def test_monthly_report_asset_on_both_databases(db_url, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGU_HOME", str(tmp_path / "home"))
    scenario(engine)
    results = run_chain(db_url)
    reports = tmp_path / "home" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "migu-report-2024-01.xlsx",
        "migu-report-2024-02.xlsx",
        "migu-report-2024-03.xlsx",
    ]  # one workbook per month of the single run's window
    assert not any(e.asset_key == dg.AssetKey("monthly_report") for e in results[0].get_asset_materialization_events())
    meta = materialization(results, "monthly_report").metadata
    assert meta["path"].value == str(reports / "migu-report-2024-03.xlsx")

    wb = openpyxl.load_workbook(reports / "migu-report-2024-03.xlsx")
    assert wb.sheetnames == [*SHEET_NAMES, CHARTS]
    grades = wb["信用评级"]
    assert len(data_rows(grades)) == db_count(engine, schema.credit_grades) == 4
    assert total(grades, 1) == 4  # 合计: 4家
    st = wb["结算"]
    for header, col in [("信息费", "gross"), ("应付金额", "payable"), ("扣减", "deductions"), ("净额", "net")]:
        j = column(st, header)
        expected = db_sum(engine, schema.settlements.c[col])
        assert sum(M(str(r[j])) for r in data_rows(st)) == expected, header
        assert total(st, j) == expected, header  # the 合计 row
    assert db_sum(engine, schema.settlements.c.gross) == M("64345.67")  # = Σ settlement_items.info_fee
    names = {r[0]: grades.cell(i + 2, 2) for i, r in enumerate(data_rows(grades))}
    assert names["P3"].value == EVIL and names["P3"].data_type == "s"
    assert names["P4"].value == AT and names["P4"].data_type == "s"


# ------------------------------------------------------------------ SQLite, computed once for the module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The scenario on SQLite, materialised once; MIGU_HOME points at a temporary folder."""
    root = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{root / 'warehouse.db'}"
    engine = engine_for(url)
    migrate.upgrade(engine)
    scenario(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIGU_HOME", str(root / "home"))
        result = run_chain(url)
    yield {"url": url, "engine": engine, "result": result, "root": root}
    engine.dispose()


@pytest.fixture(scope="module")
def workbook_path(built):
    return built["root"] / "home" / "reports" / "migu-report-2024-03.xlsx"


@pytest.fixture(scope="module")
def wb(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def test_sheets_have_chinese_headers_and_frozen_header_rows(wb):
    assert wb.sheetnames == ["总览", "信用评级", "预警处罚", "管控措施", "结算", "续约", "执行台账", "图表"]  # §5a
    assert headers(wb["总览"]) == ["类别", "项目", "数量", "金额（元）"]
    assert {
        "合作方编号",
        "合作方名称",
        "月份",
        "信用积分",
        "评级",
        "处罚措施",
        "下发日期",
        "处理截止日",
        "条款",
        "原因",
    } <= set(headers(wb["信用评级"]))
    assert {"预警等级", "触发日期", "暂停推广止", "暂停代码新增止", "条款", "原因"} <= set(headers(wb["预警处罚"]))
    assert {"处罚措施", "范围", "开始日期", "结束日期", "条款", "原因"} <= set(headers(wb["管控措施"]))
    assert {"信息费", "合作方分成", "应付金额", "结转下月", "结算状态"} <= set(headers(wb["结算"]))
    assert {"合同编号", "续约决定", "禁止重新合作至", "条款", "原因"} <= set(headers(wb["续约"]))
    for ws in wb.worksheets:
        assert ws.title == CHARTS or ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1]), ws.title


def test_dates_are_dates_money_is_numbers_and_no_formulas(wb, workbook_path):
    grades = wb["信用评级"]
    p1 = next(i for i, r in enumerate(data_rows(grades), start=2) if r[0] == "P1")
    issued = grades.cell(p1, column(grades, "下发日期") + 1)
    assert issued.is_date and issued.value.date() == D(2024, 4, 8) and issued.number_format == "yyyy-mm-dd"
    due = grades.cell(p1, column(grades, "处理截止日") + 1)
    assert due.is_date and due.value.date() == D(2024, 4, 15)
    score = grades.cell(p1, column(grades, "信用积分") + 1)
    assert score.data_type == "n" and M(str(score.value)) == M("362.50")
    assert grades.cell(p1, column(grades, "评级") + 1).value == "D"
    assert grades.cell(p1, column(grades, "取代月份") + 1).value.date() == D(2024, 2, 1)

    st = wb["结算"]
    p1 = next(i for i, r in enumerate(data_rows(st), start=2) if r[0] == "P1")
    gross = st.cell(p1, column(st, "信息费") + 1)
    assert gross.data_type == "n" and gross.number_format == "#,##0.00"
    assert M(str(gross.value)) == M("13345.68")  # 12345.67 + 1000.01
    with zipfile.ZipFile(workbook_path) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    formulas = [f for x in sheets for f in re.findall(r"<f>(.*?)</f>", x)]
    assert sheets and formulas and all(SUBTOTAL.match("=" + f) for f in formulas)  # only the 合计 SUBTOTALs


def test_formula_like_partner_names_stay_literal_text(wb):
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in (EVIL, AT):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    assert cell.quotePrefix, (ws.title, cell.coordinate)
                    found.append(ws.title)
    assert {"信用评级", "预警处罚", "结算"} <= set(found)  # P3 is graded, warned and settled


def test_totals_and_overview_equal_the_database(built, wb):
    engine = built["engine"]
    grades = wb["信用评级"]
    assert len(data_rows(grades)) == db_count(engine, schema.credit_grades)
    st = wb["结算"]
    assert len(data_rows(st)) == db_count(engine, schema.settlements) == 3
    money = {
        "信息费": "gross",
        "合作方分成": "partner_share",
        "扣减": "deductions",
        "上月结转": "carried_in",
        "净额": "net",
        "应付金额": "payable",
        "结转下月": "carried_out",
    }
    for header, col in money.items():
        value = M(str(total(st, column(st, header)))).quantize(M("0.01"))
        assert value == db_sum(engine, schema.settlements.c[col]), header
    overview = {(r[0], r[1]): (r[2], r[3]) for r in wb["总览"].iter_rows(min_row=2, values_only=True)}
    assert overview[("信用评级", "D")][0] == 1 and overview[("信用评级", "F")][0] == 1
    assert overview[("信用评级", "A")][0] == 2 and overview[("信用评级", "终止合作")][0] == 0
    assert overview[("预警处罚", "一级预警")][0] == db_count(engine, schema.warning_tiers) == 1
    assert sum(v[0] for k, v in overview.items() if k[0] == "管控措施") == db_count(engine, schema.control_actions)
    assert sum(v[0] for k, v in overview.items() if k[0] == "续约") == db_count(engine, schema.renewal_decisions) == 2
    assert sum(M(str(v[1])) for k, v in overview.items() if k[0] == "结算") == db_sum(
        engine, schema.settlements.c.payable
    )


def test_column_widths_count_cjk_as_two(wb):
    assert display_width("合作方名称") == 10 and display_width("P1") == 2 and display_width("ＡB") == 3
    ws = wb["信用评级"]
    reason = column(ws, "原因") + 1
    assert ws.column_dimensions["A"].width >= display_width("合作方编号")
    # capped, reasons are long; the file holds the width as Excel writes it (60 characters + cell padding)
    assert int(ws.column_dimensions[openpyxl.utils.get_column_letter(reason)].width) == 60


def test_asset_metadata_path_row_counts_and_preview(built, workbook_path):
    meta = materialization(built["result"], "monthly_report").metadata
    assert meta["path"].value == str(workbook_path) and workbook_path.exists()
    assert meta["months"].value == "2024-01, 2024-02, 2024-03"
    rows = meta["rows_per_sheet"].value
    assert rows["信用评级"] == 2 + 3 + 4  # Jan P1+P4, Feb P1,P2,P4, Mar all four
    assert rows["结算"] == 3 and rows["续约"] == 2
    assert meta["rows/预警处罚"].value == 1
    preview = meta["preview"].value
    assert "2024-03 总览" in preview and "| 信用评级 | D | 1 |" in preview and "| 预警处罚 | 一级预警 | 1 |" in preview


def test_cli_report_builds_the_same_workbook_from_the_warehouse(built, wb, tmp_path):
    out = tmp_path / "march.xlsx"
    res = CliRunner().invoke(
        app, ["report", "--month", "2024-03", "--out", str(out)], env={"MIGU_WAREHOUSE_URL": built["url"]}
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines()[-1] == str(out)
    assert "▶" in res.output  # step lines
    again = openpyxl.load_workbook(out)
    assert again.sheetnames == wb.sheetnames
    for name in wb.sheetnames:
        assert list(again[name].values) == list(wb[name].values), name


def test_cli_report_default_path_and_empty_month(built, tmp_path):
    env = {"MIGU_WAREHOUSE_URL": built["url"], "MIGU_HOME": str(tmp_path / "h")}
    res = CliRunner().invoke(app, ["report", "--month", "2024-02"], env=env)
    assert res.exit_code == 0, res.output
    path = Path(res.stdout.strip().splitlines()[-1])
    assert path == tmp_path / "h" / "reports" / "migu-report-2024-02.xlsx" and path.exists()
    keep = tmp_path / "keep.xlsx"
    keep.write_bytes(b"an earlier workbook")
    empty = CliRunner().invoke(app, ["report", "--month", "2025-06", "--out", str(keep)], env=env)
    assert empty.exit_code == 1 and "还没有计算结果" in empty.output
    assert keep.read_bytes() == b"an earlier workbook"  # nothing written for a month never computed
    bad = CliRunner().invoke(app, ["report", "--month", "2024/02"], env=env)
    assert bad.exit_code == 2


def test_build_report_writes_atomically_and_sanitises_control_characters(built, tmp_path):
    engine = built["engine"]
    with engine.begin() as conn:
        conn.execute(sa.update(schema.partners).where(schema.partners.c.partner_id == "P4").values(name="-1+1\x07铃"))
    try:
        result = build_report(engine, MARCH, tmp_path / "r.xlsx")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.update(schema.partners).where(schema.partners.c.partner_id == "P4").values(name=AT))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]  # no temporary file left behind
    ws = openpyxl.load_workbook(result.path)["信用评级"]
    cell = next(ws.cell(i, 2) for i in range(2, ws.max_row) if ws.cell(i, 1).value == "P4")
    assert cell.value == "-1+1铃" and cell.data_type == "s" and cell.quotePrefix


# ------------------------------------------------------------------ charts in the UI metadata


@pytest.mark.parametrize(
    "asset, title, label", [("credit_grades", "各信用级别的合作方数", "A级"), ("warning_tiers", "各级预警的触发次数", "一级预警")]
)
def test_chart_is_a_chinese_markdown_bar_chart(built, asset, title, label):
    """Issue 15: the UI charts read in Chinese (no image, so no CJK font is needed)."""
    chart = materialization(built["result"], asset).metadata["chart"].value
    assert chart.startswith(f"**{title}**") and f"| {label} |" in chart and "█" in chart
    assert "data:image" not in chart and len(chart) < 30_000


# ---------------------------------------------------------------- formatting (issue 15)
def test_grade_cells_are_coloured_by_conditional_formatting(wb):
    grades = wb["信用评级"]
    letter = openpyxl.utils.get_column_letter(column(grades, "评级") + 1)
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb  # a solid fill of a conditional format is its bgColor in Excel
        for cf in grades.conditional_formatting
        if str(cf.sqref) == f"{letter}2:{letter}{grades.max_row - 1}"
        for rule in cf.rules
    }
    assert {'"A"', '"D"', '"F"', '"终止合作"'} <= set(rules)
    assert rules['"A"'] == "FFC6EFCE" and rules['"F"'] == "FFFFC7CE" and rules['"终止合作"'] == "FFC00000"


def test_reason_columns_wrap_and_pages_print_landscape_fit_to_width(wb):
    for name in ("信用评级", "预警处罚", "结算"):
        ws = wb[name]
        reason = column(ws, "原因") + 1
        assert all(ws.cell(r, reason).alignment.wrap_text for r in range(2, ws.max_row)), name
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9  # A4
        # one page wide (1 is the file format's default, so the attribute may be omitted), as many pages tall as needed
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$1:$1", name


def test_totals_are_subtotals_that_follow_the_filter(wb):
    st = wb["结算"]
    letter = openpyxl.utils.get_column_letter(column(st, "信息费") + 1)
    gross = st.cell(st.max_row, column(st, "信息费") + 1).value
    count = st.cell(st.max_row, 2).value
    assert gross == f"=SUBTOTAL(109,{letter}2:{letter}{st.max_row - 1})"
    assert count == f"=SUBTOTAL(103,A2:A{st.max_row - 1})"
    assert st.auto_filter.ref.endswith(str(st.max_row - 1))  # the filter covers the data rows, not the total
    assert wb.calculation.fullCalcOnLoad  # no cached values: Excel computes the totals when it opens the file


def test_chart_sheet_has_grade_tier_and_money_charts(workbook_path):
    with zipfile.ZipFile(workbook_path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 3
    text = "".join(charts)
    for words in ("信用评级", "预警", "结算状态金额"):
        assert words in text
    assert all("'总览'!" in c or "总览!" in c for c in charts)  # they read the overview cells


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_file_mode_follows_the_umask(built, tmp_path, umask, mode):
    import os

    old = os.umask(umask)
    try:
        result = build_report(built["engine"], MARCH, tmp_path / f"r{umask:o}.xlsx")
    finally:
        os.umask(old)
    assert result.path.stat().st_mode & 0o777 == mode


# ---------------------------------------------------------------- many months (issue 14)
def test_workbooks_built_by_worker_processes_equal_those_built_one_after_another(built, tmp_path, caplog):
    """A run of many months builds its workbooks in worker processes (one per core); the cells are the same."""
    from migu_assets.policy import load_policy_book
    from migu_assets.report import build_reports

    url, months, book = built["url"], [D(2024, 1, 1), D(2024, 2, 1), MARCH], load_policy_book()
    cells = {}
    for workers in (1, 2):
        paths = [tmp_path / f"w{workers}" / f"{m:%Y-%m}.xlsx" for m in months]
        results = build_reports(url, months, paths, book, D(2024, 6, 30), workers=workers)
        assert [r.month for r in results] == months and [r.path for r in results] == paths
        cells[workers] = [
            {ws.title: list(ws.iter_rows(values_only=True)) for ws in openpyxl.load_workbook(p)} for p in paths
        ]
    assert cells[1] == cells[2]
    assert any(row[0] == "P3" for row in cells[2][2]["信用评级"])  # March, with its rows
    assert "report workers unavailable" not in caplog.text  # the workers really ran (no fallback)
