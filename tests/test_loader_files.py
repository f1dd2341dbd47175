"""Issue 14: the files staff really have, the streaming path's guarantees, and the holes found by probing the old
loader — on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import csv
import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from test_loader import count, fetch, valid_row, write_csv
from typer.testing import CliRunner

from migu_assets.loader import LoadError, LoadResult, load_file
from migu_assets.policy import load_policy_book
from migu_assets.warehouse.schema import importance_declarations, partners

POLICY = load_policy_book().latest


@pytest.fixture
def seeded(engine):
    with engine.begin() as conn:
        conn.execute(partners.insert(), [
            {"partner_id": pid, "name": name, "parent_company_id": parent, "on_network_rights_platform": False,
             "cooperation_start": dt.date(2023, 1, 1)}
            for pid, name, parent in [("P1", "甲子公司", "G1"), ("P2", "乙子公司", "G1"), ("P3", "丙公司", None)]
        ])
    return engine


def tickets(n: int, **changes) -> list[dict[str, str]]:
    return [valid_row("complaint_tickets", POLICY, ticket_id=f"T{i:05d}", **changes) for i in range(n)]


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_chinese_windows_encodings_load(engine, policy, tmp_path, encoding):
    """Excel on Chinese Windows saves GBK/GB18030; Excel's 'CSV UTF-8' adds a BOM: each loads with its text intact."""
    name = "咪咕音乐合作伙伴（北京）有限公司·测试"
    path = write_csv(tmp_path / "p.csv", [valid_row("partners", policy, name=name)], encoding=encoding)
    result = load_file(engine, "partners", path, policy)
    assert result.inserted == 1
    assert fetch(engine, "partners")[0]["name"] == name
    assert any("gb18030" in n for n in result.notes) == encoding.startswith("gb")


def test_encoding_can_be_forced(engine, policy, tmp_path):
    """--encoding: a file read with the named codec (here GBK text that a forced latin-1 would garble)."""
    path = write_csv(tmp_path / "p.csv", [valid_row("partners", policy, name="中文")], encoding="gbk")
    load_file(engine, "partners", path, policy, encoding="gbk")
    assert fetch(engine, "partners")[0]["name"] == "中文"
    with pytest.raises(LoadError, match="未知的编码"):
        load_file(engine, "partners", path, policy, encoding="no-such-codec")


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize("text", ["2024-03-01", "2024/3/1", "2024-3-1", "2024年3月1日", "2024/03/01", " 2024-3-01 "])
def test_date_forms_staff_write(seeded, policy, tmp_path, text):
    row = valid_row("major_violations", policy, occurred_on=text)
    load_file(seeded, "major_violations", write_csv(tmp_path / "v.csv", [row]), policy)
    assert fetch(seeded, "major_violations")[0]["occurred_on"] == dt.date(2024, 3, 1)


@pytest.mark.parametrize("text", ["45352", "2024/2/30", "2024年13月1日", "3/1/2024"])
def test_a_bare_number_or_impossible_date_in_a_csv_date_column_is_an_error(seeded, policy, tmp_path, text):
    row = valid_row("major_violations", policy, occurred_on=text)
    with pytest.raises(LoadError) as info:
        load_file(seeded, "major_violations", write_csv(tmp_path / "v.csv", [row]), policy)
    assert [(c.row, c.column) for c in info.value.cells] == [(2, "occurred_on")]
    assert count(seeded, "major_violations") == 0


def test_xlsx_date_and_datetime_cells_in_date_columns(seeded, policy, tmp_path):
    """pandas writes dates as datetimes at midnight (format with hh:mm:ss); a serial number formatted as a date is a
    date; a bare number without a date format stays an error."""
    wb = openpyxl.Workbook()
    ws = wb.active
    header = list(valid_row("major_violations", policy))
    ws.append(header)
    base = valid_row("major_violations", policy)
    for i, value in enumerate([dt.datetime(2023, 4, 1), dt.date(2023, 4, 2), 45019]):
        ws.append([f"V{i}" if c == "violation_id" else value if c == "occurred_on" else base[c] for c in header])
    ws.cell(2, header.index("occurred_on") + 1).number_format = "yyyy-mm-dd hh:mm:ss"
    ws.cell(4, header.index("occurred_on") + 1).number_format = "yyyy/m/d"  # serial 45019 = 2023-04-03
    path = tmp_path / "v.xlsx"
    wb.save(path)
    load_file(seeded, "major_violations", path, policy)
    assert [r["occurred_on"] for r in fetch(seeded, "major_violations")] == [dt.date(2023, 4, 1), dt.date(2023, 4, 2),
                                                                             dt.date(2023, 4, 3)]
    ws.append(["V9" if c == "violation_id" else 45021 if c == "occurred_on" else base[c] for c in header])
    wb.save(path)
    with pytest.raises(LoadError) as info:
        load_file(seeded, "major_violations", path, policy)
    assert [(c.row, c.column) for c in info.value.cells] == [(5, "occurred_on")]


# ---------------------------------------------------------------- headers


def test_headers_are_trimmed_case_folded_and_chinese_names_match(seeded, policy, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(" 合作方编号 ,NAME,Parent_Company_ID,on_network_rights_platform ,合作开始日期,备注,内部编号\n"
                    "P9,新伙伴,,否,2024/1/1,随便,x\n", encoding="utf-8")
    result = load_file(seeded, "partners", path, policy)
    assert result.inserted == 1
    assert any("备注" in n and "内部编号" in n for n in result.notes), result.notes
    stored = {r["partner_id"]: r for r in fetch(seeded, "partners")}
    assert stored["P9"]["cooperation_start"] == dt.date(2024, 1, 1)


def test_a_misspelt_required_column_is_answered_with_the_closest_header(engine, policy, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("partner_id,nmae,parent_company_id,on_network_rights_platform,cooperation_start\n"
                    "P9,x,,true,2024-01-01\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    (message,) = info.value.messages
    assert "缺少必需的列 name（合作方名称）" in message and "'nmae'" in message and "拼错" in message


# ---------------------------------------------------------------- grouped errors, --errors, --dry-run, all or nothing


def test_one_systematic_error_is_one_line_with_count_and_first_rows(seeded, policy, tmp_path):
    rows = tickets(5000, category="complaint")
    path = write_csv(tmp_path / "t.csv", rows)
    errors = tmp_path / "errors.csv"
    with pytest.raises(LoadError) as info:
        load_file(seeded, "complaint_tickets", path, policy, errors=errors)
    (line,) = info.value.messages
    assert line.startswith(f"{path}: category（投诉类别）") and "5,000 行" in line
    assert "第 2、3、4 行 … 及另外 4,997 行" in line
    assert info.value.count == 5000
    with errors.open(encoding="utf-8-sig", newline="") as f:
        cells = list(csv.DictReader(f))
    assert len(cells) == 5000
    assert cells[0] == {"file": str(path), "row": "2", "column": "category", "value": "'complaint'",
                        "rule": "category（投诉类别）的取值不在允许范围内",
                        "reason": "'complaint' 不是允许的取值；应为 uninformed_subscription、other 之一"}
    assert count(seeded, "complaint_tickets") == 0


def test_dry_run_checks_everything_and_writes_nothing(seeded, policy, tmp_path):
    path = write_csv(tmp_path / "t.csv", tickets(10))
    result = load_file(seeded, "complaint_tickets", path, policy, dry_run=True)
    assert (result.inserted, result.unchanged, result.dry_run) == (10, 0, True)
    assert count(seeded, "complaint_tickets") == 0
    bad = write_csv(tmp_path / "bad.csv", [*tickets(3), valid_row("complaint_tickets", policy, ticket_id="X",
                                                                   partner_id="P404")])
    with pytest.raises(LoadError):
        load_file(seeded, "complaint_tickets", bad, policy, dry_run=True)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_error_in_the_last_row_of_a_multi_batch_file_writes_nothing(seeded, policy, tmp_path, monkeypatch, fmt):
    """All or nothing across batches: earlier batches already sat in the staging table when the last row failed."""
    monkeypatch.setattr("migu_assets.loader.read.BATCH", 7)
    rows = tickets(50)
    rows[-1] = {**rows[-1], "due_at": "2023-01-01T00:00:00"}
    path = write_csv(tmp_path / "t.csv", rows)
    if fmt == "xlsx":
        wb = openpyxl.Workbook()
        wb.active.append(list(rows[0]))
        for r in rows:
            wb.active.append(list(r.values()))
        path = tmp_path / "t.xlsx"
        wb.save(path)
    with pytest.raises(LoadError) as info:
        load_file(seeded, "complaint_tickets", path, policy)
    assert [(c.row, c.column) for c in info.value.cells] == [(51, "due_at")]
    assert count(seeded, "complaint_tickets") == 0
    rows[-1] = tickets(50)[-1]
    assert load_file(seeded, "complaint_tickets", write_csv(tmp_path / "ok.csv", rows), policy).inserted == 50


def test_cli_load_with_errors_file_and_dry_run(db_url, seeded, tmp_path, monkeypatch):
    from migu_assets.cli import app

    monkeypatch.setenv("MIGU_WAREHOUSE_URL", db_url)
    good = write_csv(tmp_path / "t.csv", tickets(3))
    runner = CliRunner()
    out = runner.invoke(app, ["load", "complaint_tickets", str(good), "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "将新增 3 行" in out.output and "试运行" in out.output
    assert count(seeded, "complaint_tickets") == 0
    bad = write_csv(tmp_path / "bad.csv", tickets(3, partner_id="P404"))
    errors = tmp_path / "errors.csv"
    out = runner.invoke(app, ["load", "complaint_tickets", str(bad), "--errors", str(errors)])
    assert out.exit_code == 1
    assert "已拒绝：3 处问题" in out.output and "第 2、3、4 行" in out.output
    assert len(errors.read_text(encoding="utf-8-sig").splitlines()) == 4
    out = runner.invoke(app, ["load", "complaint_tickets", str(good)])
    assert out.exit_code == 0 and "新增 3 行" in out.output
    assert count(seeded, "complaint_tickets") == 3


def test_errors_file_is_written_for_every_rejection(db_url, seeded, tmp_path, monkeypatch):
    """`--errors FILE` holds this rejection whatever rejected the file — a cell, the header (a misspelt column), the
    file itself (not a CSV table) — and never an earlier load's errors, which the message would otherwise point to."""
    import csv

    from migu_assets.cli import app

    monkeypatch.setenv("MIGU_WAREHOUSE_URL", db_url)
    runner, errors = CliRunner(), tmp_path / "errors.csv"

    def rows() -> list[list[str]]:
        with errors.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle))

    bad = write_csv(tmp_path / "bad.csv", tickets(3, partner_id="P404"))
    assert runner.invoke(app, ["load", "complaint_tickets", str(bad), "--errors", str(errors)]).exit_code == 1
    assert len(rows()) == 4
    header = tmp_path / "nmae.csv"
    header.write_text("partner_id,nmae,parent_company_id,on_network_rights_platform,cooperation_start\n"
                      "P9,丁公司,,否,2024-01-01\n", encoding="utf-8")
    out = runner.invoke(app, ["load", "partners", str(header), "--errors", str(errors)])
    assert out.exit_code == 1 and f"每个出错的单元格见 {errors}" in out.output
    assert rows()[0] == ["file", "row", "column", "value", "rule", "reason"]
    ((file, row, column, _, rule, reason),) = rows()[1:]
    assert (file, row, column, rule) == (str(header), "1", "name", "缺少必需的列") and "'nmae'" in reason
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert runner.invoke(app, ["load", "partners", str(empty), "--errors", str(errors)]).exit_code == 1
    ((file, row, column, _, rule, reason),) = rows()[1:]
    assert (file, row, column, rule) == (str(empty), "", "", "文件") and "表头" in reason
    assert count(seeded, "partners") == 3


# ---------------------------------------------------------------- holes found by probing the old loader


def test_look_alike_keys_are_one_key(seeded, policy, tmp_path):
    """A BOM or zero-width character inside a key, or full-width characters, do not make a new partner: keys are
    NFKC-normalised without invisible characters, and the load says how many it normalised."""
    again = [valid_row("partners", policy, partner_id=pid, name="甲子公司", parent_company_id="G1",
                       cooperation_start="2023-01-01") for pid in ["\ufeffP1", "P1\u200b", "Ｐ１"]]
    for i, row in enumerate(again):
        result = load_file(seeded, "partners", write_csv(tmp_path / f"p{i}.csv", [row]), policy)
        assert result == LoadResult("partners", 0, 1), row
        assert any("NFKC" in n for n in result.notes)
    ticket = valid_row("complaint_tickets", policy, partner_id="P\u200b1", ticket_id="Ｔ1")
    load_file(seeded, "complaint_tickets", write_csv(tmp_path / "t.csv", [ticket]), policy)
    assert [(r["ticket_id"], r["partner_id"]) for r in fetch(seeded, "complaint_tickets")] == [("T1", "P1")]
    assert count(seeded, "partners") == 3


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x7f", "\x9b", "\x00"])
def test_control_characters_in_text_are_rejected(engine, policy, tmp_path, char):
    row = valid_row("partners", policy, name=f"名字{char}[31m")
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", write_csv(tmp_path / "p.csv", [row]), policy)
    ((r, column, reason),) = [(c.row, c.column, c.reason) for c in info.value.cells]
    assert (r, column) == (2, "name") and "控制字符" in reason and f"0x{ord(char):02x}" in reason
    assert count(engine, "partners") == 0


def test_tab_in_text_is_kept(engine, policy, tmp_path):
    """Line breaks are rejected since issue 14's audit (tests/test_loader_value_fixes.py); a tab stays."""
    row = valid_row("partners", policy, name="第一行；第二行\t备注")
    load_file(engine, "partners", write_csv(tmp_path / "p.csv", [row]), policy)
    assert fetch(engine, "partners")[0]["name"] == "第一行；第二行\t备注"


def _sheet(wb, title: str, rows: list[list], hidden: bool = False):
    ws = wb.create_sheet(title)
    for r in rows:
        ws.append(r)
    if hidden:
        ws.sheet_state = "hidden"
    return ws


def test_a_hidden_first_sheet_is_not_read(engine, policy, tmp_path):
    header = list(valid_row("partners", policy))
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "旧数据", [header, ["OLD", "旧", "", "false", "2020-01-01"]], hidden=True)
    _sheet(wb, "合作方", [header, ["P9", "新", "", "false", "2024-01-01"]])
    wb.active = 1
    path = tmp_path / "p.xlsx"
    wb.save(path)
    result = load_file(engine, "partners", path, policy)
    assert [r["partner_id"] for r in fetch(engine, "partners")] == ["P9"]
    assert any("合作方" in n for n in result.notes), result.notes


def test_several_candidate_sheets_need_sheet(engine, policy, tmp_path):
    header = list(valid_row("partners", policy))
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "一月", [header, ["P8", "甲", "", "false", "2024-01-01"]])
    _sheet(wb, "二月", [header, ["P9", "乙", "", "false", "2024-02-01"]])
    _sheet(wb, "说明", [["本表说明"]])
    path = tmp_path / "p.xlsx"
    wb.save(path)
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    assert "一月" in str(info.value) and "二月" in str(info.value) and "--sheet" in str(info.value)
    load_file(engine, "partners", path, policy, sheet="二月")
    assert [r["partner_id"] for r in fetch(engine, "partners")] == ["P9"]
    with pytest.raises(LoadError, match="没有名为 '三月' 的工作表"):
        load_file(engine, "partners", path, policy, sheet="三月")


def test_amounts_whose_sum_would_overflow_are_rejected_at_load(seeded, policy, tmp_path):
    """Two items of 999,999,999,999.99 for one partner-month made the PostgreSQL run fail with numeric field
    overflow; the load now refuses the second, counting what the warehouse already holds. Also across months: a
    held balance accumulates a partner's withheld months (SPEC v2 §7), so the bound is the partner's Σ info_fee over
    all its months (an audit loaded 2024-01 and 2024-02 at the limit with a payment hold: held_balance
    1,399,999,999,999.98 overflowed NUMERIC(14,2) in the run)."""
    big = "999999999999.99"
    first = valid_row("settlement_items", policy, item_id="I1", info_fee=big)
    load_file(seeded, "settlement_items", write_csv(tmp_path / "a.csv", [first]), policy)
    second = valid_row("settlement_items", policy, item_id="I2", info_fee="0.01")
    with pytest.raises(LoadError) as info:
        load_file(seeded, "settlement_items", write_csv(tmp_path / "b.csv", [second]), policy)
    ((row, column, reason),) = [(c.row, c.column, c.reason) for c in info.value.cells]
    assert (row, column) == (2, "info_fee") and "1000000000000.00" in reason and "partner_id='P1'" in reason
    other_month = valid_row("settlement_items", policy, item_id="I3", info_fee=big, month="2024-02-01")
    with pytest.raises(LoadError) as info:
        load_file(seeded, "settlement_items", write_csv(tmp_path / "c.csv", [other_month]), policy)
    ((column, reason),) = [(c.column, c.reason) for c in info.value.cells]
    assert column == "info_fee" and "1999999999999.98" in reason and "partner_id='P1'" in reason
    other_partner = valid_row("settlement_items", policy, item_id="I3", info_fee=big, partner_id="P2",
                              month="2024-02-01")
    assert load_file(seeded, "settlement_items", write_csv(tmp_path / "c2.csv", [other_partner]), policy).inserted == 1
    deductions = [valid_row("settlement_items", policy, item_id=f"D{i}", deductions="600000000000.00",
                            month=f"2024-0{i + 3}-01", info_fee="0") for i in range(2)]
    with pytest.raises(LoadError) as info:
        load_file(seeded, "settlement_items", write_csv(tmp_path / "d.csv", deductions), policy)
    assert {c.column for c in info.value.cells} == {"deductions"}
    assert count(seeded, "settlement_items") == 2


def test_exit_deductions_and_deductions_share_the_carried_balance_bound(seeded, policy, tmp_path):
    """What the held balance cannot cover of a partner's exit deductions is carried over with its deductions (SPEC v2
    §7): each sum is held below half of NUMERIC(14,2), so their total fits the carried-over balance."""
    half = "499999999999.99"
    item = valid_row("settlement_items", policy, item_id="I1", info_fee="0", deductions=half)
    assert load_file(seeded, "settlement_items", write_csv(tmp_path / "i.csv", [item]), policy).inserted == 1
    first = valid_row("exit_deductions", policy, deduction_id="X1", amount=half)
    assert load_file(seeded, "exit_deductions", write_csv(tmp_path / "x1.csv", [first]), policy).inserted == 1
    second = valid_row("exit_deductions", policy, deduction_id="X2", amount="0.01")
    with pytest.raises(LoadError) as info:
        load_file(seeded, "exit_deductions", write_csv(tmp_path / "x2.csv", [second]), policy)
    ((row, column, reason),) = [(c.row, c.column, c.reason) for c in info.value.cells]
    assert (row, column) == (2, "amount") and "500000000000.00" in reason and "499999999999.99" in reason
    more = valid_row("settlement_items", policy, item_id="I2", info_fee="0", deductions="0.01", month="2024-02-01")
    with pytest.raises(LoadError):
        load_file(seeded, "settlement_items", write_csv(tmp_path / "i2.csv", [more]), policy)


def _race(engine, policy, paths: list[Path], table: str) -> list[LoadResult | LoadError]:
    results: list[LoadResult | LoadError] = [None, None]  # type: ignore[list-item]
    barrier = threading.Barrier(len(paths))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = load_file(engine, table, paths[i], policy)
        except LoadError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_exclusive_authorisation_holds_under_concurrent_loads(seeded, policy, tmp_path):
    """独家授权 race: two concurrent loads, each holding one approved subsidiary of G1 — exactly one wins, every
    trial; the loser names the winner."""
    d = importance_declarations
    for trial in range(5):
        with seeded.begin() as conn:
            conn.execute(d.delete())
        paths = [write_csv(tmp_path / f"d{trial}-{pid}.csv", [valid_row(
            "importance_declarations", policy, declaration_id=f"D{trial}{pid}", partner_id=pid,
            authorized_by_parent="G1")]) for pid in ("P1", "P2")]
        results = _race(seeded, policy, paths, "importance_declarations")
        assert sorted(type(r).__name__ for r in results) == ["LoadError", "LoadResult"], results
        (loser,) = [r for r in results if isinstance(r, LoadError)]
        assert "独家授权" in str(loser) and "仓库中已有" in str(loser)
        assert count(seeded, "importance_declarations") == 1


def test_exclusive_authorisation_is_a_database_constraint(seeded):
    """Every writer, not only the loader: the warehouse itself refuses a second subsidiary (migration 0105)."""
    d = importance_declarations
    row = {"declaration_id": "D1", "partner_id": "P1", "item": "cmcc_strategic_agreement", "authorized_by_parent": "G1",
           "submitted_on": dt.date(2024, 1, 1), "review_status": "approved", "reviewed_on": dt.date(2024, 1, 2),
           "minutes_ref": "m"}
    with seeded.begin() as conn:
        conn.execute(d.insert(), [row, {**row, "declaration_id": "D1b"}])  # the same subsidiary twice is fine
    with pytest.raises(sa.exc.IntegrityError, match="exclusive_authorisation"), seeded.begin() as conn:
        conn.execute(d.insert(), {**row, "declaration_id": "D2", "partner_id": "P2"})
    with seeded.begin() as conn:  # pending ones are not exclusive
        conn.execute(d.insert(), {**row, "declaration_id": "D3", "partner_id": "P2", "review_status": "pending"})
    with pytest.raises(sa.exc.IntegrityError), seeded.begin() as conn:
        conn.execute(d.update().where(d.c.declaration_id == "D3").values(review_status="approved"))


def test_overlapping_concurrent_loads_name_the_key_row_and_column(seeded, policy, tmp_path):
    """Two overlapping loads: the loser says which key, row and column conflict — never a bare UNIQUE error."""
    a = write_csv(tmp_path / "a.csv", tickets(200))
    b = write_csv(tmp_path / "b.csv", tickets(200, province="BJ"))
    results = _race(seeded, policy, [a, b], "complaint_tickets")
    (loser,) = [r for r in results if isinstance(r, LoadError)]
    assert "UNIQUE" not in str(loser) and "duplicate key" not in str(loser)
    first = loser.cells[0]
    assert (first.row, first.column) == (2, "province") and "ticket_id='T00000'" in first.reason
    assert count(seeded, "complaint_tickets") == 200


def test_xlsx_is_read_streaming(engine, policy, tmp_path, monkeypatch):
    """A sheet is read row by row (openpyxl read-only) in batches: the loader never holds the whole sheet."""
    import migu_assets.loader.read as read

    monkeypatch.setattr(read, "BATCH", 10)
    seen: list[int] = []
    original = read.Batch

    def spy(numbers, columns):
        seen.append(len(numbers))
        return original(numbers, columns)

    monkeypatch.setattr(read, "Batch", spy)
    wb = openpyxl.Workbook()
    wb.active.append(list(valid_row("partners", policy)))
    for i in range(35):
        wb.active.append([f"P{i}", "名", "", "false", "2024-01-01"])
    path = tmp_path / "p.xlsx"
    wb.save(path)
    assert load_file(engine, "partners", path, policy).inserted == 35
    assert seen == [10, 10, 10, 5]


def test_money_round_trips_exactly_through_the_bulk_path(seeded, policy, tmp_path):
    rows = [valid_row("settlement_items", policy, item_id=f"I{i}", info_fee=f, share_ratio=r, deductions=d)
            for i, (f, r, d) in enumerate([("0.01", "0.7", "0"), ("123456789.99", "0.0001", "1.10"), ("5", ".5", "+2")])]
    load_file(seeded, "settlement_items", write_csv(tmp_path / "s.csv", rows), policy)
    stored = [(r["info_fee"], r["share_ratio"], r["deductions"]) for r in fetch(seeded, "settlement_items")]
    assert stored == [(Decimal("0.01"), Decimal("0.7000"), Decimal("0.00")),
                      (Decimal("123456789.99"), Decimal("0.0001"), Decimal("1.10")),
                      (Decimal("5.00"), Decimal("0.5000"), Decimal("2.00"))]


def test_rows_of_another_width_than_the_header_are_padded_or_cut(engine, policy, tmp_path):
    """The bulk CSV reader needs every row as wide as the header; a file with short or long rows is read again by
    the csv module (short rows padded with empty cells, extra cells ignored), keeping the row numbers."""
    path = tmp_path / "p.csv"
    path.write_text("partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
                    "P1,a,,true,2023-01-01\n\nP2,b,,true,2023-01-01,extra,cells\nP3,c\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    assert {(c.row, c.column) for c in info.value.cells} == {(5, "on_network_rights_platform"),
                                                             (5, "cooperation_start")}
    path.write_text("partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
                    "P1,a,,true,2023-01-01\n\nP2,b,,true,2023-01-01,extra,cells\n", encoding="utf-8")
    assert load_file(engine, "partners", path, policy).inserted == 2


def test_a_large_file_on_a_terminal_gets_a_progress_bar(seeded, policy, tmp_path, monkeypatch):
    """Issue 14: a progress bar (rich) while a large file is read and checked — on a terminal, over 5 MB, unless
    --no-progress; it is fed the position read so far against the file's size."""
    from migu_assets import cli

    path = write_csv(tmp_path / "t.csv", tickets(50))
    ticks: list[tuple[int, int]] = []
    load_file(seeded, "complaint_tickets", path, policy, ticker=lambda done, total: ticks.append((done, total)))
    assert ticks and all(total == path.stat().st_size for _, total in ticks)
    assert [done for done, _ in ticks] == sorted(done for done, _ in ticks) and ticks[-1][0] == path.stat().st_size
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 5_000_001)
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: False)
    assert not cli._load_progress(big, True).enabled  # piped into a file or another program: no bar
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True)
    assert not cli._load_progress(path, True).enabled and not cli._load_progress(big, False).enabled
    bar = cli._load_progress(big, True)
    with bar as tick:
        tick(2_500_000, 5_000_001)
        (task,) = bar.progress.tasks
        assert (task.completed, task.total) == (2_500_000, 5_000_001)


def test_every_monthly_asset_and_the_monthly_job_name_the_fast_backfill():
    """Issue 14: a lineage-page backfill of the monthly assets is split by Dagster into runs ~30 s apart; the job and
    every monthly computed asset say, in Chinese, to backfill from the monthly_job's Partitions page."""
    from migu_assets.definitions import defs
    from migu_assets.partitions import BACKFILL_HINT, monthly_partitions

    assert "Jobs → monthly_job → Partitions" in BACKFILL_HINT
    assert "Partitions 页面" in defs.resolve_job_def("monthly_job").description
    monthly = [spec for spec in defs.resolve_all_asset_specs()
               if spec.partitions_def == monthly_partitions and spec.key.path[0] not in ("monthly_report", "notices")]
    assert len(monthly) >= 10
    assert [s.key.to_user_string() for s in monthly if BACKFILL_HINT not in (s.description or "")] == []
