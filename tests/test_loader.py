"""The file loader against the data contract of SPEC §1 (on SQLite and PostgreSQL via the ``engine`` fixture).

Every rejection test loads a file holding one good row and one bad row and checks three things: a LoadError whose
messages all name the file, a failing cell (``LoadError.cells``: row, column, reason in Chinese) naming the bad
cell, and an unchanged table (all or nothing).
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from migu_assets.loader import TABLES, LoadError, LoadResult, load_file, load_frame
from migu_assets.warehouse.schema import SOURCE_TABLES, partners

# ---------------------------------------------------------------- helpers


def nationwide_event(policy) -> str:
    return next(k for k, r in policy.control.events.items() if not r.requires_province)


def provincial_event(policy) -> str:
    return next(k for k, r in policy.control.events.items() if r.requires_province)


def valid_row(table: str, policy, **changes: str) -> dict[str, str]:
    """One row of ``table`` that satisfies SPEC §1 (partner P1 exists, see ``seeded``)."""
    rows = {
        "partners": {"partner_id": "P9", "name": "新伙伴", "parent_company_id": "", "on_network_rights_platform": "false",
                     "cooperation_start": "2023-01-01"},
        "complaint_tickets": {"ticket_id": "T1", "partner_id": "P1", "business_id": "B1", "province": "GD",
                              "category": "uninformed_subscription", "created_at": "2024-01-03T10:00:00",
                              "due_at": "2024-01-05T10:00:00", "handled_at": ""},
        "control_events": {"event_id": "E1", "partner_id": "P1", "business_id": "B1", "sub_channel_id": "S1",
                           "event_type": nationwide_event(policy), "province": "", "event_date": "2024-01-03",
                           "issuer_requirement": ""},
        "importance_declarations": {"declaration_id": "D1", "partner_id": "P1",
                                    "item": next(iter(policy.importance.company_items)), "authorized_by_parent": "",
                                    "submitted_on": "2024-01-02", "review_status": "approved",
                                    "reviewed_on": "2024-01-10", "minutes_ref": "会议纪要-1"},
        "partner_monthly_business": {"partner_id": "P1", "month": "2024-01-01", "info_fee_revenue": "50000.00",
                                     "migu_purchases": "0", "migu_ad_spend": "0.50"},
        "settlement_items": {"item_id": "I1", "partner_id": "P1", "business_id": "B1", "month": "2024-01-01",
                             "payment_method": "phone_bill", "channel": "app", "info_fee": "100.00",
                             "share_ratio": "0.5", "deductions": "0"},
        "payment_holds": {"partner_id": "P1", "start_date": "2024-01-01", "end_date": "", "reason": "联动止付"},
        "major_violations": {"violation_id": "V1", "partner_id": "P1", "violation_type": "3",
                             "occurred_on": "2024-01-05", "recorded_at": "2024-01-06T09:00:00+08:00",
                             "description": "违规", "bad_credit_list": "否"},
        "contracts": {"contract_id": "C1", "partner_id": "P1", "start_date": "2023-01-01", "end_date": "2024-12-31",
                      "rights_delivered": "true", "product_launched": "true", "launch_blocked_by_partner": "false",
                      "qualification_ok": "true", "exit_requested_on": "", "decision_on": "", "signed_on": ""},
        "credit_issue_dates": {"month": "2024-01-01", "issued_on": "2024-02-07"},
        "exit_deductions": {"deduction_id": "X1", "partner_id": "P1", "contract_id": "C1", "kind": "penalty",
                            "amount": "3000.00", "recorded_on": "2024-02-01", "note": ""},
    }
    row = dict(rows[table])
    unknown = set(changes) - set(row)
    assert not unknown, unknown
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(SOURCE_TABLES[table])).scalar_one()


def fetch(engine: sa.Engine, table: str) -> list[dict]:
    t = SOURCE_TABLES[table]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]


def assert_rejected(engine, policy, table: str, path: Path, row: int, column: str, *fragments: str) -> LoadError:
    """(a) LoadError whose messages name the file, (b) a failing cell at row and column (with every fragment in its
    reason), (c) nothing written."""
    before = count(engine, table)
    with pytest.raises(LoadError) as info:
        load_file(engine, table, path, policy)
    assert all(m.startswith(f"{path}: ") for m in info.value.messages), info.value.messages
    hits = [c.reason for c in info.value.cells if c.row == row and c.column == column]
    assert hits, f"no failing cell at row {row}, column {column} in:\n{info.value.cells}"
    for fragment in fragments:
        assert any(fragment in m for m in hits), f"{fragment!r} not in {hits}"
    assert count(engine, table) == before
    return info.value


def reject_many(engine, policy, tmp_path, table: str, column: str, cases: list[tuple[dict[str, str], str]]) -> LoadError:
    """A good row (row 2), then one bad row per case (rows 3, 4, …): each bad row's message names ``column`` and
    contains the case's fragment; the good row gets no message; nothing is written."""
    key = [c.name for c in SOURCE_TABLES[table].primary_key.columns]
    good = valid_row(table, policy)
    rows = [good]
    for i, (bad, _) in enumerate(cases, start=2):
        row = valid_row(table, policy, **bad)
        for k in key:  # keep each bad row's own key distinct from the others
            if k not in bad and k.endswith("_id") and k != "partner_id":
                row[k] = f"{good[k]}-{i}"
        rows.append(row)
    path = write_csv(tmp_path / f"{table}.csv", rows)
    err = None
    for number, (_, fragment) in enumerate(cases, start=3):
        err = assert_rejected(engine, policy, table, path, number, column, fragment)
    assert err is not None
    assert not [c for c in err.cells if c.row == 2], err.cells
    return err


def reject_one(engine, policy, tmp_path, table: str, column: str, *fragments: str, **bad: str) -> LoadError:
    """A good row (row 2) and a bad one (row 3) whose cells are ``bad``: the bad one names ``column``."""
    err = reject_many(engine, policy, tmp_path, table, column, [(bad, fragments[0] if fragments else "")])
    hits = [c.reason for c in err.cells if c.row == 3 and c.column == column]
    for fragment in fragments:
        assert any(fragment in m for m in hits), f"{fragment!r} not in {hits}"
    return err


@pytest.fixture
def seeded(engine):
    """Partners P1, P2 (subsidiaries of G1) and P3 (no parent) in the warehouse."""
    with engine.begin() as conn:
        conn.execute(partners.insert(), [
            {"partner_id": pid, "name": name, "parent_company_id": parent, "on_network_rights_platform": False,
             "cooperation_start": dt.date(2023, 1, 1)}
            for pid, name, parent in [("P1", "甲子公司", "G1"), ("P2", "乙子公司", "G1"), ("P3", "丙公司", None)]
        ])
    return engine


# ---------------------------------------------------------------- API, tables, file handling


def test_every_spec1_source_table_is_loadable_and_every_rule_cites_the_spec():
    """SPEC §1: the loader's contracts cover exactly the source tables; each named rule carries its SPEC text."""
    assert set(TABLES) == set(SOURCE_TABLES)
    for contract in TABLES.values():
        for rule in (*contract.value_rules, *contract.row_rules, *contract.db_rules):
            assert "SPEC" in rule.spec, rule


def test_loader_has_no_dagster_import():
    """The loader is plain Python: assets and the CLI call it, it never imports Dagster."""
    for path in Path(__import__("migu_assets.loader").loader.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "dagster" for n in names), path


def test_unknown_table_lists_the_known_tables(engine, policy, tmp_path):
    """SPEC §1: only the contract tables can be loaded; the error lists them."""
    path = write_csv(tmp_path / "x.csv", [valid_row("partners", policy)])
    with pytest.raises(LoadError) as info:
        load_file(engine, "daily_complaint_counts", path, policy)
    assert "未知的表 'daily_complaint_counts'" in str(info.value)
    assert all(name in str(info.value) for name in SOURCE_TABLES)
    assert count(engine, "partners") == 0


def test_missing_required_column_gives_one_message_naming_it(seeded, policy, tmp_path):
    """SPEC §1 'column names are exact': a missing column is one message on the header row, not one per row."""
    rows = [{k: v for k, v in valid_row("complaint_tickets", policy, ticket_id=f"T{i}").items() if k != "handled_at"}
            for i in range(5)]
    path = write_csv(tmp_path / "tickets.csv", rows)
    err = assert_rejected(seeded, policy, "complaint_tickets", path, 1, "handled_at", "缺少必需的列")
    assert len(err.messages) == 1


def test_duplicated_header_column_is_rejected(engine, policy, tmp_path):
    """SPEC §1 'column names are exact': a contract column may appear only once in the header."""
    path = tmp_path / "p.csv"
    path.write_text("partner_id,name,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
                    "P9,a,b,,true,2023-01-01\n", encoding="utf-8")
    assert_rejected(engine, policy, "partners", path, 1, "name", "出现了 2 次")


def test_extra_columns_are_ignored(engine, policy, tmp_path):
    """SPEC §1: extra columns are ignored."""
    row = {"备注": "随便", **valid_row("partners", policy), "unknown": "=1+1"}
    result = load_file(engine, "partners", write_csv(tmp_path / "p.csv", [row]), policy)
    assert result == LoadResult("partners", inserted=1, unchanged=0)


def test_gbk_file_loads_and_a_foreign_encoding_is_rejected_with_a_clear_message(engine, policy, tmp_path):
    """Issue 14: a CSV saved by Excel on Chinese Windows (GBK/GB18030) loads with its Chinese text intact; a file in
    an encoding that is neither UTF-8 nor GB18030 is a LoadError saying so, not a crash or mojibake."""
    path = write_csv(tmp_path / "gbk.csv", [valid_row("partners", policy, name="中文名称（北京）有限公司")], encoding="gbk")
    result = load_file(engine, "partners", path, policy)
    assert result.inserted == 1 and any("gb18030" in n for n in result.notes)
    assert fetch(engine, "partners")[0]["name"] == "中文名称（北京）有限公司"
    path = tmp_path / "utf16.csv"
    path.write_bytes("partner_id,name\nP8,中文\n".encode("utf-16"))
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    assert str(path) in str(info.value) and "不是 UTF-8" in str(info.value)
    assert count(engine, "partners") == 1


def test_unreadable_files_are_load_errors(engine, policy, tmp_path):
    """SPEC §1 loader: CSV or XLSX only; anything else is a LoadError naming the file, and nothing is written."""
    for name, content, expected in [("empty.csv", b"", "文件是空的"),
                                    ("p.txt", b"partner_id\n", "不支持的文件类型 .txt"),
                                    ("broken.xlsx", b"not a zip", "不是可读的 XLSX"),
                                    ("utf16.csv", "partner_id\n".encode("utf-16"), "不是 UTF-8")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(LoadError) as info:
            load_file(engine, "partners", path, policy)
        assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)
    with pytest.raises(LoadError, match="文件不存在"):
        load_file(engine, "partners", tmp_path / "missing.csv", policy)
    assert count(engine, "partners") == 0


def test_utf8_bom_csv_with_chinese_names_round_trips(engine, policy, tmp_path):
    """SPEC §1 loader: a UTF-8 CSV with BOM (Excel 'CSV UTF-8') loads; Chinese text comes back unchanged."""
    rows = [valid_row("partners", policy, partner_id="P9", name="咪咕音乐合作伙伴（北京）有限公司"),
            valid_row("partners", policy, partner_id="P10", name="联合会员·测试", parent_company_id="集团甲")]
    path = write_csv(tmp_path / "bom.csv", rows, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_file(engine, "partners", path, policy) == LoadResult("partners", 2, 0)
    stored = {r["partner_id"]: r for r in fetch(engine, "partners")}
    assert stored["P9"]["name"] == "咪咕音乐合作伙伴（北京）有限公司"
    assert stored["P10"]["parent_company_id"] == "集团甲"


def test_xlsx_with_chinese_text_and_typed_cells_loads(seeded, policy, tmp_path):
    """SPEC §1 loader: XLSX, first sheet, every cell read as text (numbers, dates, booleans included)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append(["violation_id", "partner_id", "violation_type", "occurred_on", "recorded_at", "description",
               "bad_credit_list"])
    ws.append(["V1", "P1", 3, dt.date(2024, 1, 5), dt.datetime(2024, 1, 6, 9, 30), "虚假宣传，诱导订购", True])
    ws.append([])  # a blank row is skipped
    ws.append(["V2", "P2", "7", "2024-02-01", "2024-02-02T01:00:00Z", "违规外呼", "否"])
    wb.create_sheet("其他").append(["ignored"])
    path = tmp_path / "violations.xlsx"
    wb.save(path)
    assert load_file(seeded, "major_violations", path, policy) == LoadResult("major_violations", 2, 0)
    v1, v2 = fetch(seeded, "major_violations")
    assert (v1["violation_type"], v1["occurred_on"], v1["recorded_at"]) == (3, dt.date(2024, 1, 5),
                                                                             dt.datetime(2024, 1, 6, 9, 30))
    assert v1["description"] == "虚假宣传，诱导订购" and v1["bad_credit_list"] is True
    assert v2["recorded_at"] == dt.datetime(2024, 2, 2, 9, 0) and v2["bad_credit_list"] is False


def test_xlsx_numbers_become_exact_decimals(seeded, policy, tmp_path):
    """SPEC preamble: money is Decimal, never float — also when the XLSX cell holds a binary number."""
    wb = openpyxl.Workbook()
    row = valid_row("settlement_items", policy)
    wb.active.append(list(row))
    wb.active.append([*list(row.values())[:6], 1234.56, 0.7, 0.1])
    path = tmp_path / "items.xlsx"
    wb.save(path)
    load_file(seeded, "settlement_items", path, policy)
    (item,) = fetch(seeded, "settlement_items")
    assert (item["info_fee"], item["share_ratio"], item["deductions"]) == (Decimal("1234.56"), Decimal("0.7"),
                                                                           Decimal("0.1"))
    assert all(isinstance(item[c], Decimal) for c in ("info_fee", "share_ratio", "deductions"))


FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(A1)", "+1+1", "=HYPERLINK(\"http://x\")"]


def test_formula_like_text_stays_literal_in_csv(engine, policy, tmp_path):
    """SPEC §1 loader: cells are text; formula-like text is stored as written, never evaluated."""
    rows = [valid_row("partners", policy, partner_id=f"P{i}", name=text) for i, text in enumerate(FORMULAS)]
    load_file(engine, "partners", write_csv(tmp_path / "p.csv", rows), policy)
    assert [r["name"] for r in sorted(fetch(engine, "partners"), key=lambda r: r["partner_id"])] == FORMULAS


def test_formula_like_text_stays_literal_in_xlsx(engine, policy, tmp_path):
    """SPEC §1 loader: an XLSX formula cell (=…) and text cell (@…) load as their literal text, not evaluated."""
    wb = openpyxl.Workbook()
    ws = wb.active
    row = valid_row("partners", policy)
    ws.append(list(row))
    for i, text in enumerate(FORMULAS):
        ws.append([f"P{i}", text, "", "false", "2023-01-01"])
    assert ws["B2"].data_type == "f"  # openpyxl stored the first one as a real formula
    path = tmp_path / "p.xlsx"
    wb.save(path)
    load_file(engine, "partners", path, policy)
    assert [r["name"] for r in sorted(fetch(engine, "partners"), key=lambda r: r["partner_id"])] == FORMULAS


def test_blank_lines_are_skipped_and_rows_keep_their_file_numbers(engine, policy, tmp_path):
    """SPEC §1 messages: n is the file's row number (header = 1), also after a blank line."""
    path = tmp_path / "p.csv"
    path.write_text("partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
                    "P1,a,,true,2023-01-01\n\n,,,,\nP2,b,,true,2023-13-01\n", encoding="utf-8")
    err = assert_rejected(engine, policy, "partners", path, 5, "cooperation_start", "不是日历上的日期")
    assert len(err.messages) == 1


def test_every_failure_is_reported_at_once(seeded, policy, tmp_path):
    """SPEC §1 (lazy validation): every offending row and column is listed, sorted by row, in one error."""
    rows = [valid_row("settlement_items", policy, item_id="I1", payment_method="cash"),
            valid_row("settlement_items", policy, item_id="I2"),
            valid_row("settlement_items", policy, item_id="I3", info_fee="-5", deductions="x", partner_id="P404")]
    path = write_csv(tmp_path / "items.csv", rows)
    err = assert_rejected(seeded, policy, "settlement_items", path, 2, "payment_method", "'cash'")
    assert [(c.row, c.column) for c in err.cells] == [(2, "payment_method"), (4, "deductions"), (4, "info_fee"),
                                                       (4, "partner_id")]
    reasons = [c.reason for c in err.cells]
    assert reasons[0] == "'cash' 不是允许的取值；应为 phone_bill、third_party 之一"
    assert "'x' 不是普通的数" in reasons[1] and "-5.00 小于最小值 0" in reasons[2] and "'P404'" in reasons[3]
    assert len(err.messages) == 4 and all(m.startswith(f"{path}: ") for m in err.messages)  # one line per rule


def test_header_only_file_loads_nothing(engine, policy, tmp_path):
    """SPEC §1 loader: a file with the header and no rows is a valid, empty batch."""
    path = tmp_path / "p.csv"
    path.write_text(",".join(valid_row("partners", policy)) + "\n", encoding="utf-8")
    assert load_file(engine, "partners", path, policy) == LoadResult("partners", 0, 0)


def test_load_frame_uses_source_and_row_offset(seeded, policy):
    """load_frame: the frame's rows are numbered from row_offset and messages name ``source``; NaN/NA cells are
    empty, as in a file."""
    df = pd.DataFrame([valid_row("payment_holds", policy), valid_row("payment_holds", policy, partner_id="P2",
                                                                     end_date="2023-12-31")])
    with pytest.raises(LoadError) as info:
        load_frame(seeded, "payment_holds", df, policy, source="holds.xlsx", row_offset=10)
    assert [(c.row, c.column, c.reason) for c in info.value.cells] == [
        (11, "end_date", "end_date 2023-12-31 必须不早于 start_date 2024-01-01")]
    assert len(info.value.messages) == 1 and info.value.messages[0].startswith("holds.xlsx: ")
    df.loc[1, "end_date"] = pd.NA
    df.loc[0, "end_date"] = float("nan")
    assert load_frame(seeded, "payment_holds", df, policy, source="holds.xlsx") == LoadResult("payment_holds", 2, 0)
    assert [r["end_date"] for r in fetch(seeded, "payment_holds")] == [None, None]


# ---------------------------------------------------------------- column types (SPEC §1 types, preamble)


def test_not_null_column_needs_a_value(engine, policy, tmp_path):
    """SPEC §1 partners: name (text) is not nullable — an empty cell is rejected."""
    reject_one(engine, policy, tmp_path, "partners", "name", "必须填写", name="")


def test_partner_id_must_be_non_empty(engine, policy, tmp_path):
    """SPEC §1 partners: partner_id non-empty — blank or whitespace-only is rejected."""
    reject_one(engine, policy, tmp_path, "partners", "partner_id", "必须填写", partner_id="   ")


def test_text_longer_than_the_column_is_rejected(engine, policy, tmp_path):
    """SPEC §1 types: text ids are VARCHAR(64) in schema.py; a longer one is a row error, not a database crash."""
    reject_one(engine, policy, tmp_path, "partners", "partner_id", "最多 64 个", partner_id="P" * 65)


def test_booleans_accept_the_documented_words(seeded, policy, tmp_path):
    """SPEC §1 bool columns: true/false, 1/0, yes/no, 是/否, in any case."""
    words = [("TRUE", "False"), ("1", "0"), ("Yes", "NO"), ("是", "否"), ("true", "false")]
    rows = [valid_row("contracts", policy, contract_id=f"C{i}", rights_delivered=t, launch_blocked_by_partner=f)
            for i, (t, f) in enumerate(words)]
    assert load_file(seeded, "contracts", write_csv(tmp_path / "c.csv", rows), policy).inserted == len(words)
    stored = fetch(seeded, "contracts")
    assert [r["rights_delivered"] for r in stored] == [True] * len(words)
    assert [r["launch_blocked_by_partner"] for r in stored] == [False] * len(words)


def test_boolean_rejects_other_words(seeded, policy, tmp_path):
    """SPEC §1 bool columns: anything but the boolean words is rejected."""
    reject_one(seeded, policy, tmp_path, "contracts", "qualification_ok", "'maybe' 不是是/否值",
               qualification_ok="maybe")


def test_date_must_be_a_documented_form(seeded, policy, tmp_path):
    """SPEC §1 date columns (issue 14): 2024-03-01, 2024/3/1, 2024-3-1 or 2024年3月1日 — and a real calendar day; a
    bare number, a timestamp or another order is rejected."""
    bad = ["05.01.2024", "2024-02-30", "2024/2/30", "2024-01-05T00:00:00", "20240105", "45000", "24/1/5"]
    reject_many(seeded, policy, tmp_path, "major_violations", "occurred_on",
                [({"occurred_on": b}, f"{b!r} 不是") for b in bad])


def test_timestamp_must_be_iso8601(seeded, policy, tmp_path):
    """SPEC preamble: timestamps in files are ISO 8601 with a time."""
    bad = ["2024-01-03", "2024/01/03 10:00", "yesterday", "2024-01-03T25:00:00", "2024-01-03T10:00:00 CST"]
    reject_many(seeded, policy, tmp_path, "major_violations", "recorded_at",
                [({"recorded_at": b}, f"{b!r} 不是") for b in bad])


def test_timestamps_with_offset_are_converted_to_shanghai_and_naive_ones_are_local(seeded, policy, tmp_path):
    """SPEC preamble: with an offset → converted to Asia/Shanghai; without → already Asia/Shanghai local time."""
    rows = [valid_row("complaint_tickets", policy, ticket_id="TZ", created_at="2024-01-03T02:00:00Z",
                      due_at="2024-01-05T10:00:00+08:00", handled_at="2024-01-04T18:30:00-05:00"),
            valid_row("complaint_tickets", policy, ticket_id="TL", created_at="2024-01-03 10:00:00",
                      due_at="2024-01-03T23:59:59.5", handled_at="2024-01-03T12:00")]
    load_file(seeded, "complaint_tickets", write_csv(tmp_path / "t.csv", rows), policy)
    by_id = {r["ticket_id"]: r for r in fetch(seeded, "complaint_tickets")}
    assert by_id["TZ"]["created_at"] == dt.datetime(2024, 1, 3, 10, 0)
    assert by_id["TZ"]["due_at"] == dt.datetime(2024, 1, 5, 10, 0)
    assert by_id["TZ"]["handled_at"] == dt.datetime(2024, 1, 5, 7, 30)
    assert by_id["TL"]["created_at"] == dt.datetime(2024, 1, 3, 10, 0)
    assert by_id["TL"]["due_at"] == dt.datetime(2024, 1, 3, 23, 59, 59, 500000)
    assert by_id["TL"]["handled_at"] == dt.datetime(2024, 1, 3, 12, 0)
    assert all(r[c].tzinfo is None for r in by_id.values() for c in ("created_at", "due_at"))


def test_money_is_an_exact_decimal(seeded, policy, tmp_path):
    """SPEC preamble: money is NUMERIC(14,2) / Decimal, never float."""
    row = valid_row("partner_monthly_business", policy, info_fee_revenue="123456789012.34", migu_purchases="0.1",
                    migu_ad_spend="+7")
    load_file(seeded, "partner_monthly_business", write_csv(tmp_path / "b.csv", [row]), policy)
    (stored,) = fetch(seeded, "partner_monthly_business")
    assert stored["info_fee_revenue"] == Decimal("123456789012.34")
    assert (stored["migu_purchases"], stored["migu_ad_spend"]) == (Decimal("0.10"), Decimal("7.00"))


@pytest.mark.parametrize(("column", "cases"), [
    ("info_fee", [("10.001", "小数超过 2 位"), ("1e3", "不是普通的数"),
                  ("1000000000000.00", "太大"), ("NaN", "不是普通的数")]),
    ("deductions", [("1,000.00", "不要千分位逗号"), ("0.125", "小数超过 2 位")]),
    ("share_ratio", [("0.12345", "小数超过 4 位")]),
])
def test_decimal_columns_reject_bad_numbers(seeded, policy, tmp_path, column, cases):
    """SPEC preamble / §1: money has at most 2 decimals (NUMERIC(14,2)); share_ratio at most 4 (NUMERIC(6,4))."""
    reject_many(seeded, policy, tmp_path, "settlement_items", column, [({column: v}, f) for v, f in cases])


def test_integer_column_rejects_fractions(seeded, policy, tmp_path):
    """SPEC §1 major_violations: violation_type is an int."""
    reject_one(seeded, policy, tmp_path, "major_violations", "violation_type", "不是整数",
               violation_type="2.5")


def test_month_keys_are_first_days(seeded, policy, tmp_path):
    """SPEC preamble: a month key is YYYY-MM-01 (partner_monthly_business, settlement_items, credit_issue_dates)."""
    reject_one(seeded, policy, tmp_path, "settlement_items", "month", "请写该月第一天 2024-01-01",
               month="2024-01-15")


# ---------------------------------------------------------------- primary keys


def test_primary_key_unique_within_the_file(engine, policy, tmp_path):
    """SPEC §1 partners: partner_id is the PK — a repeat in the same file is rejected, naming the first row."""
    rows = [valid_row("partners", policy, partner_id="P9"), valid_row("partners", policy, partner_id="P8"),
            valid_row("partners", policy, partner_id="P9", name="again")]
    path = write_csv(tmp_path / "p.csv", rows)
    assert_rejected(engine, policy, "partners", path, 4, "partner_id", "主键 partner_id='P9' 重复", "第 2 行")


def test_composite_primary_key_unique_within_the_file(seeded, policy, tmp_path):
    """SPEC §1 partner_monthly_business: PK (partner_id, month) — the same pair twice is rejected."""
    rows = [valid_row("partner_monthly_business", policy),
            valid_row("partner_monthly_business", policy, month="2024-02-01"),
            valid_row("partner_monthly_business", policy, info_fee_revenue="1.00")]
    path = write_csv(tmp_path / "b.csv", rows)
    assert_rejected(seeded, policy, "partner_monthly_business", path, 4, "(partner_id, month)",
                    "partner_id='P1'、month=2024-01-01", "第 2 行")


# ---------------------------------------------------------------- enums


def test_complaint_category_enum(seeded, policy, tmp_path):
    """SPEC §1 complaint_tickets: category ∈ {uninformed_subscription, other}."""
    reject_one(seeded, policy, tmp_path, "complaint_tickets", "category", "'billing'", "uninformed_subscription",
               category="billing")


def test_control_event_type_comes_from_the_policy(seeded, policy, tmp_path):
    """SPEC §1/§6 control_events: event_type ∈ the policy's control.events."""
    err = reject_one(seeded, policy, tmp_path, "control_events", "event_type", "'dial_test_moon'",
                     event_type="dial_test_moon")
    assert all(name in str(err) for name in policy.control.events)


def test_declaration_item_comes_from_the_policy(seeded, policy, tmp_path):
    """SPEC §1/§4.2 importance_declarations: item ∈ the policy's importance.company_items."""
    reject_one(seeded, policy, tmp_path, "importance_declarations", "item", "'best_friend'",
               next(iter(policy.importance.company_items)), item="best_friend")


def test_declaration_review_status_enum(seeded, policy, tmp_path):
    """SPEC §1 importance_declarations: review_status ∈ {pending, approved, rejected}."""
    reject_one(seeded, policy, tmp_path, "importance_declarations", "review_status", "'Approved'",
               review_status="Approved")


def test_settlement_payment_method_enum(seeded, policy, tmp_path):
    """SPEC §1 settlement_items: payment_method ∈ {phone_bill, third_party}."""
    reject_one(seeded, policy, tmp_path, "settlement_items", "payment_method", "'alipay'", payment_method="alipay")


# ---------------------------------------------------------------- ranges


def test_share_ratio_070_accepted_07001_rejected(seeded, policy, tmp_path):
    """SPEC §1 settlement_items: 0 ≤ share_ratio ≤ 0.70 (第四条, policy settlement.max_share_ratio)."""
    assert policy.settlement.max_share_ratio == Decimal("0.70")
    ok = valid_row("settlement_items", policy, share_ratio="0.70")
    assert load_file(seeded, "settlement_items", write_csv(tmp_path / "ok.csv", [ok]), policy).inserted == 1
    assert fetch(seeded, "settlement_items")[0]["share_ratio"] == Decimal("0.7000")
    bad = valid_row("settlement_items", policy, item_id="I2", share_ratio="0.7001")
    assert_rejected(seeded, policy, "settlement_items", write_csv(tmp_path / "bad.csv", [bad]), 2, "share_ratio",
                    "0.7001 大于最大值 0.7")


def test_share_ratio_not_negative(seeded, policy, tmp_path):
    """SPEC §1 settlement_items: 0 ≤ share_ratio (0 itself is allowed)."""
    ok = valid_row("settlement_items", policy, item_id="I0", share_ratio="0")
    assert load_file(seeded, "settlement_items", write_csv(tmp_path / "ok.csv", [ok]), policy).inserted == 1
    reject_one(seeded, policy, tmp_path, "settlement_items", "share_ratio", "小于最小值 0", item_id="I9",
               share_ratio="-0.01")


def test_settlement_amounts_not_negative(seeded, policy, tmp_path):
    """SPEC §1 settlement_items: info_fee ≥ 0, deductions ≥ 0 (0 itself is fine: the good row has deductions 0)."""
    for column in ("info_fee", "deductions"):
        reject_one(seeded, policy, tmp_path, "settlement_items", column, "-0.01 小于最小值 0",
                   **{column: "-0.01"})


def test_monthly_business_amounts_not_negative(seeded, policy, tmp_path):
    """SPEC §1 partner_monthly_business: amounts ≥ 0 (info_fee_revenue, migu_purchases, migu_ad_spend)."""
    for column in ("info_fee_revenue", "migu_purchases", "migu_ad_spend"):
        reject_one(seeded, policy, tmp_path, "partner_monthly_business", column, "-1.00 小于最小值 0",
                   month="2024-02-01", **{column: "-1"})


def test_violation_type_is_1_to_7(seeded, policy, tmp_path):
    """SPEC §1 major_violations: violation_type int 1–7 (附件8 item): 1 and 7 load, 0 and 8 do not."""
    ok = [valid_row("major_violations", policy, violation_id=f"OK{v}", violation_type=v) for v in ("1", "7")]
    assert load_file(seeded, "major_violations", write_csv(tmp_path / "ok.csv", ok), policy).inserted == 2
    reject_many(seeded, policy, tmp_path, "major_violations", "violation_type",
                [({"violation_id": "V0", "violation_type": "0"}, "0 小于最小值 1"),
                 ({"violation_id": "V8", "violation_type": "8"}, "8 大于最大值 7")])


# ---------------------------------------------------------------- cross-field rules


def test_due_at_not_before_created_at(seeded, policy, tmp_path):
    """SPEC §1 complaint_tickets: due_at ≥ created_at (compared after converting offsets to Shanghai time)."""
    equal = valid_row("complaint_tickets", policy, ticket_id="T0", created_at="2024-01-03T02:00:00Z",
                      due_at="2024-01-03T10:00:00")
    assert load_file(seeded, "complaint_tickets", write_csv(tmp_path / "ok.csv", [equal]), policy).inserted == 1
    reject_one(seeded, policy, tmp_path, "complaint_tickets", "due_at", "必须不早于 created_at",
               due_at="2024-01-03T09:59:59")


def test_contract_end_after_start(seeded, policy, tmp_path):
    """SPEC §1 contracts: end_date > start_date (the same day is rejected)."""
    reject_one(seeded, policy, tmp_path, "contracts", "end_date", "必须晚于 start_date", end_date="2023-01-01")


def test_payment_hold_end_not_before_start(seeded, policy, tmp_path):
    """SPEC §1 payment_holds: end_date ≥ start_date when set (the same day and an open hold are fine)."""
    ok = [valid_row("payment_holds", policy, end_date="2024-01-01"),
          valid_row("payment_holds", policy, partner_id="P2")]
    assert load_file(seeded, "payment_holds", write_csv(tmp_path / "ok.csv", ok), policy).inserted == 2
    bad = [valid_row("payment_holds", policy, partner_id="P3", start_date="2024-03-01", end_date="2024-02-29")]
    assert_rejected(seeded, policy, "payment_holds", write_csv(tmp_path / "bad.csv", bad), 2, "end_date",
                    "必须不早于 start_date")


def test_approved_declaration_needs_review_date_and_minutes(seeded, policy, tmp_path):
    """SPEC §1 importance_declarations: approved needs reviewed_on and minutes_ref (pending needs neither)."""
    pending = valid_row("importance_declarations", policy, declaration_id="DP", review_status="pending",
                        reviewed_on="", minutes_ref="")
    assert load_file(seeded, "importance_declarations", write_csv(tmp_path / "ok.csv", [pending]), policy).inserted
    for column in ("reviewed_on", "minutes_ref"):
        reject_one(seeded, policy, tmp_path, "importance_declarations", column, "审核状态是 approved",
                   declaration_id="D2", **{column: ""})


def test_provincial_control_event_needs_a_province(seeded, policy, tmp_path):
    """SPEC §1/§6 control_events: an event type with requires_province (policy) needs province; null = nationwide."""
    nationwide = valid_row("control_events", policy, event_type=nationwide_event(policy), province="")
    assert load_file(seeded, "control_events", write_csv(tmp_path / "ok.csv", [nationwide]), policy).inserted == 1
    reject_one(seeded, policy, tmp_path, "control_events", "province", provincial_event(policy),
               event_id="E2", event_type=provincial_event(policy), province="")


# ---------------------------------------------------------------- references to the warehouse


def test_partner_must_exist_in_the_warehouse(seeded, policy, tmp_path):
    """SPEC §1: every partner_id of every non-partners table refers to a partner already in the warehouse."""
    tables = sorted(t for t, c in TABLES.items() if "partner_id" in c.columns and t != "partners")
    assert len(tables) == 9  # SPEC v2 adds exit_deductions
    for table in tables:
        reject_one(seeded, policy, tmp_path, table, "partner_id", "partner_id 为 'P404' 的行", partner_id="P404")


def test_authorising_parent_must_be_the_partners_parent(seeded, policy, tmp_path):
    """SPEC §1/§4.2: authorized_by_parent must equal the partner's parent_company_id."""
    err = reject_one(seeded, policy, tmp_path, "importance_declarations", "authorized_by_parent",
                     "'G9' 不是合作方 'P1' 的母公司", authorized_by_parent="G9")
    assert "'G1'" in str(err)
    reject_one(seeded, policy, tmp_path, "importance_declarations", "authorized_by_parent", "没有母公司编号",
               partner_id="P3", authorized_by_parent="G1")


def test_second_subsidiary_approved_by_same_parent_is_rejected_against_the_warehouse(seeded, policy, tmp_path):
    """SPEC §1/§4.2 独家授权: a second subsidiary's approved declaration authorised by the same parent is rejected."""
    first = valid_row("importance_declarations", policy, declaration_id="D1", partner_id="P1",
                      authorized_by_parent="G1")
    first_file = write_csv(tmp_path / "first.csv", [first])
    assert load_file(seeded, "importance_declarations", first_file, policy).inserted == 1
    assert load_file(seeded, "importance_declarations", first_file, policy).unchanged == 1  # not blocked by itself
    same_partner = valid_row("importance_declarations", policy, declaration_id="D1b", partner_id="P1",
                             authorized_by_parent="G1")
    pending_other = valid_row("importance_declarations", policy, declaration_id="D2p", partner_id="P2",
                              authorized_by_parent="G1", review_status="pending", reviewed_on="", minutes_ref="")
    ok_file = write_csv(tmp_path / "ok.csv", [same_partner, pending_other])
    assert load_file(seeded, "importance_declarations", ok_file, policy).inserted == 2
    second = valid_row("importance_declarations", policy, declaration_id="D2", partner_id="P2",
                       authorized_by_parent="G1")
    path = write_csv(tmp_path / "second.csv", [second, first])  # the warehouse's holder wins, whatever the order
    err = assert_rejected(seeded, policy, "importance_declarations", path, 2, "authorized_by_parent", "独家授权",
                          "'D1'", "'P1'", "仓库中已有")
    assert len(err.messages) == 1


def test_second_subsidiary_approved_by_same_parent_is_rejected_within_the_file(seeded, policy, tmp_path):
    """SPEC §1/§4.2 独家授权: two subsidiaries of one parent, both approved by it, in one file → the second fails."""
    rows = [valid_row("importance_declarations", policy, declaration_id="D1", partner_id="P1",
                      authorized_by_parent="G1"),
            valid_row("importance_declarations", policy, declaration_id="D2", partner_id="P2",
                      authorized_by_parent="G1")]
    path = write_csv(tmp_path / "both.csv", rows)
    assert_rejected(seeded, policy, "importance_declarations", path, 3, "authorized_by_parent", "独家授权",
                    "申报 'D1'，文件第 2 行")


# ---------------------------------------------------------------- idempotency and conflicts


def test_reloading_the_same_file_inserts_nothing(seeded, policy, tmp_path):
    """SPEC §1 loader: idempotent by primary key — the second load of a file is all unchanged."""
    rows = [valid_row("settlement_items", policy, item_id=f"I{i}") for i in range(4)]
    path = write_csv(tmp_path / "items.csv", rows)
    assert load_file(seeded, "settlement_items", path, policy) == LoadResult("settlement_items", 4, 0)
    assert load_file(seeded, "settlement_items", path, policy) == LoadResult("settlement_items", 0, 4)
    more = write_csv(tmp_path / "more.csv", [*rows, valid_row("settlement_items", policy, item_id="I9")])
    assert load_file(seeded, "settlement_items", more, policy) == LoadResult("settlement_items", 1, 4)
    assert count(seeded, "settlement_items") == 5


def test_reload_compares_values_after_type_conversion(seeded, policy, tmp_path):
    """SPEC §1 loader: 0.7 = 0.7000, 是 = true, 02:00Z = 10:00 local — same values, so unchanged, not a conflict."""
    first = [valid_row("settlement_items", policy, share_ratio="0.7", info_fee="100")]
    load_file(seeded, "settlement_items", write_csv(tmp_path / "a.csv", first), policy)
    again = [valid_row("settlement_items", policy, share_ratio="0.7000", info_fee="100.00")]
    assert load_file(seeded, "settlement_items", write_csv(tmp_path / "b.csv", again), policy).unchanged == 1
    v = valid_row("major_violations", policy, recorded_at="2024-01-06T01:00:00Z", bad_credit_list="是")
    load_file(seeded, "major_violations", write_csv(tmp_path / "v1.csv", [v]), policy)
    v2 = valid_row("major_violations", policy, recorded_at="2024-01-06T09:00:00", bad_credit_list="TRUE")
    assert load_file(seeded, "major_violations", write_csv(tmp_path / "v2.csv", [v2]), policy).unchanged == 1


def test_changed_row_conflicts_and_is_not_overwritten(seeded, policy, tmp_path):
    """SPEC §1 loader: a key already in the warehouse with other values is an error, never an overwrite."""
    rows = [valid_row("partner_monthly_business", policy),
            valid_row("partner_monthly_business", policy, month="2024-02-01")]
    load_file(seeded, "partner_monthly_business", write_csv(tmp_path / "a.csv", rows), policy)
    changed = [valid_row("partner_monthly_business", policy, month="2024-03-01"),  # new, but the batch fails
               valid_row("partner_monthly_business", policy, month="2024-02-01", migu_purchases="9.99")]
    path = write_csv(tmp_path / "b.csv", changed)
    assert_rejected(seeded, policy, "partner_monthly_business", path, 3, "migu_purchases",
                    "与仓库中键为 partner_id='P1'、month=2024-02-01 的已有行冲突", "9.99")
    assert [r["migu_purchases"] for r in fetch(seeded, "partner_monthly_business")] == [Decimal("0.00")] * 2


@pytest.mark.parametrize("table", ["partners", "partner_monthly_business"])
def test_existing_keys_are_queried_in_chunks(engine, policy, tmp_path, monkeypatch, table):
    """SPEC §1 loader: a file streams through in batches (here of 3 rows) into the staging table; existing keys
    (single and composite) are found set-based across every batch, none is missed."""
    monkeypatch.setattr("migu_assets.loader.read.BATCH", 3)
    if table == "partners":
        rows = [valid_row(table, policy, partner_id=f"P{i}") for i in range(10)]
        changed = {"name": "改名"}
    else:
        with engine.begin() as conn:
            conn.execute(partners.insert(), [{"partner_id": f"P{i}", "name": "n", "on_network_rights_platform": True,
                                              "cooperation_start": dt.date(2023, 1, 1)} for i in range(4)])
        rows = [valid_row(table, policy, partner_id=f"P{i % 4}", month=f"2024-{1 + i // 4:02d}-01")
                for i in range(10)]
        changed = {"migu_ad_spend": "1.00"}
    path = write_csv(tmp_path / "a.csv", rows)
    assert load_file(engine, table, path, policy) == LoadResult(table, 10, 0)
    assert load_file(engine, table, path, policy) == LoadResult(table, 0, 10)
    rows[8] = {**rows[8], **changed}
    assert_rejected(engine, policy, table, write_csv(tmp_path / "b.csv", rows), 10, next(iter(changed)),
                    "的已有行冲突")


def test_full_width_digits_are_not_numbers(seeded, tmp_path, policy):
    """SPEC §1 money columns: only ASCII digits are a number (１２.５ looks like 12.5 but is text)."""
    from migu_assets.loader import LoadError, load_file

    path = tmp_path / "partner_monthly_business.csv"
    path.write_text("partner_id,month,info_fee_revenue,migu_purchases,migu_ad_spend\nP1,2024-01-01,１２.５,0,0\n",
                    encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_file(seeded, "partner_monthly_business", path, policy)
    assert [(c.row, c.column) for c in err.value.cells] == [(2, "info_fee_revenue")]


def test_a_huge_cell_gives_a_short_message(seeded, tmp_path, policy):
    from migu_assets.loader import LoadError, load_file

    path = tmp_path / "partner_monthly_business.csv"
    path.write_text("partner_id,month,info_fee_revenue,migu_purchases,migu_ad_spend\n"
                    f"P1,2024-01-01,{'x' * 100_000},0,0\n", encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_file(seeded, "partner_monthly_business", path, policy)
    assert len(str(err.value)) < 1000
    assert "共 100000 个字符" in str(err.value)


# ---------------------------------------------------------------- bulk path on SQLite (issue 14)
def _indexes(engine: sa.Engine, table: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name", (table,)
        ).all()


@pytest.mark.parametrize("rebuild_from", [0, 10**9], ids=["indexes-rebuilt", "indexes-kept"])
def test_a_large_load_into_a_small_table_rebuilds_its_indexes_to_the_same_definitions(
    sqlite_url, policy, tmp_path, monkeypatch, rebuild_from
):
    """SPEC §1: 3 tickets into a table holding 1 (below REBUILD_FROM = 0 the indexes are dropped and built again in
    the load's transaction): the same rows and exactly the same indexes either way; a rejected file changes neither."""
    from migu_assets.loader import stage
    from migu_assets.warehouse.engine import engine_for

    monkeypatch.setattr(stage, "REBUILD_FROM", rebuild_from)
    engine = engine_for(sqlite_url)
    with engine.begin() as conn:
        conn.execute(partners.insert(), [{"partner_id": "P1", "name": "甲", "parent_company_id": None,
                                          "on_network_rights_platform": False, "cooperation_start": dt.date(2023, 1, 1)}])
    before = _indexes(engine, "complaint_tickets")
    assert any(name == "ix_complaint_tickets_due_handled" for name, _ in before)
    tickets = [valid_row("complaint_tickets", policy, ticket_id=f"T{i}", created_at=f"2024-01-0{i}T10:00:00") for i in (1, 2, 3, 4)]
    load_file(engine, "complaint_tickets", write_csv(tmp_path / "one.csv", tickets[:1]), policy)
    assert load_file(engine, "complaint_tickets", write_csv(tmp_path / "three.csv", tickets[1:]), policy).inserted == 3
    assert _indexes(engine, "complaint_tickets") == before
    assert [r["ticket_id"] for r in fetch(engine, "complaint_tickets")] == ["T1", "T2", "T3", "T4"]
    with engine.connect() as conn:  # the rebuilt index is used and complete
        n = conn.exec_driver_sql(
            "SELECT count(*) FROM complaint_tickets INDEXED BY ix_complaint_tickets_created WHERE created_at > '2000'"
        ).scalar_one()
    assert n == 4
    bad = [valid_row("complaint_tickets", policy, ticket_id=f"U{i}") for i in range(3)] + [
        valid_row("complaint_tickets", policy, ticket_id="U9", partner_id="NOPE")
    ]
    with pytest.raises(LoadError):
        load_file(engine, "complaint_tickets", write_csv(tmp_path / "bad.csv", bad), policy)
    assert _indexes(engine, "complaint_tickets") == before and count(engine, "complaint_tickets") == 4


# ---------------------------------------------------------------- the insert's fast paths (issue 14, second pass)
class _Statements:
    """The SQL statements an engine runs while the block is open."""

    def __init__(self, engine: sa.Engine):
        self.engine, self.seen = engine, []

    def _record(self, conn, cursor, statement, *args) -> None:
        self.seen.append(" ".join(statement.split()))

    def __enter__(self) -> list[str]:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


def _tickets(policy, ids: list[str], **changes: str) -> list[dict[str, str]]:
    return [valid_row("complaint_tickets", policy, ticket_id=t, **changes) for t in ids]


def _insert_into_target(seen: list[str]) -> str:
    (insert,) = [s for s in seen if s.upper().startswith("INSERT INTO COMPLAINT_TICKETS")]
    return insert.upper()


def test_existing_keys_are_looked_up_only_when_the_table_holds_one_of_the_files_keys(seeded, policy, tmp_path):
    """SPEC §1 re-loading is idempotent by primary key. Into an empty table, or one holding none of the file's keys,
    the rows go in without the NOT EXISTS anti-join; once a key is already there, unchanged rows are counted and
    skipped and a changed one is a conflict, as before."""
    with _Statements(seeded) as seen:
        result = load_file(seeded, "complaint_tickets", write_csv(tmp_path / "a.csv", _tickets(policy, ["T1", "T2"])),
                           policy)
    assert result == LoadResult("complaint_tickets", 2, 0)
    assert "EXISTS" not in _insert_into_target(seen)

    with _Statements(seeded) as seen:  # the table is not empty, but holds none of these keys
        result = load_file(seeded, "complaint_tickets", write_csv(tmp_path / "b.csv", _tickets(policy, ["T3", "T4"])),
                           policy)
    assert result == LoadResult("complaint_tickets", 2, 0)
    assert "EXISTS" not in _insert_into_target(seen)

    with _Statements(seeded) as seen:  # T4 is there and unchanged: skipped by the anti-join
        result = load_file(seeded, "complaint_tickets", write_csv(tmp_path / "c.csv", _tickets(policy, ["T4", "T5"])),
                           policy)
    assert result == LoadResult("complaint_tickets", 1, 1)
    assert "NOT (EXISTS" in _insert_into_target(seen)
    assert [r["ticket_id"] for r in fetch(seeded, "complaint_tickets")] == ["T1", "T2", "T3", "T4", "T5"]

    changed = _tickets(policy, ["T6", "T5"])
    changed[1]["business_id"] = "B9"
    assert_rejected(seeded, policy, "complaint_tickets", write_csv(tmp_path / "d.csv", changed), 3, "business_id",
                    "的已有行冲突")
    assert load_file(seeded, "complaint_tickets", tmp_path / "c.csv", policy, dry_run=True).inserted == 0


@pytest.mark.parametrize("bad", ["partner_id", "due_at"], ids=["warehouse-rule", "column-rule"])
def test_a_rejected_last_row_writes_nothing_on_the_fast_path(seeded, policy, tmp_path, monkeypatch, bad):
    """SPEC §1 all or nothing, on the fast path (an empty table, no anti-join): 23 rows in batches of 4, staged in
    slices of 3 rows and INSERTs of 2, and the last row breaks a rule — nothing is written; fixed, every row arrives
    with exactly its values."""
    from migu_assets.loader import stage

    monkeypatch.setattr("migu_assets.loader.read.BATCH", 4)
    monkeypatch.setattr(stage, "SQLITE_ROWS", 3)
    monkeypatch.setattr(stage, "VALUES_ROWS", 2)
    rows = [valid_row("complaint_tickets", policy, ticket_id=f"T{i:02d}", created_at=f"2024-01-{1 + i:02d}T10:00:00",
                      due_at=f"2024-01-{3 + i:02d}T10:00:00", handled_at=f"2024-01-{2 + i:02d}T11:00:00" if i % 2 else "")
            for i in range(23)]
    broken = [*rows[:-1], {**rows[-1], bad: "P404" if bad == "partner_id" else "2023-01-01T00:00:00"}]
    assert_rejected(seeded, policy, "complaint_tickets", write_csv(tmp_path / "bad.csv", broken), 24, bad)
    assert load_file(seeded, "complaint_tickets", write_csv(tmp_path / "ok.csv", rows), policy).inserted == 23
    loaded = fetch(seeded, "complaint_tickets")
    assert [(r["ticket_id"], r["created_at"], r["handled_at"]) for r in loaded] == [
        (f"T{i:02d}", dt.datetime(2024, 1, 1 + i, 10), dt.datetime(2024, 1, 2 + i, 11) if i % 2 else None)
        for i in range(23)]


@pytest.mark.parametrize(("ids", "repeat_row"), [
    (["T1", "T2", "T3", "T3", "T4"], 5),  # next to each other, inside a batch
    (["T1", "T2", "T3", "T4", "T4", "T5"], 6),  # the last key of a batch opens the next one
    (["T1", "T2", "T3", "T4", "T5", "T6", "T1"], 8),  # the last row repeats the first
    (["T3", "T1", "T2", "T1"], 5),  # not in key order at all
], ids=["adjacent", "across-batches", "last-row", "unordered"])
def test_a_key_repeated_in_the_file_is_found_whether_or_not_the_keys_are_sorted(
    seeded, policy, tmp_path, monkeypatch, ids, repeat_row
):
    """SPEC §1 the primary key is unique within a file. A file whose keys strictly increase skips the duplicate-key
    GROUP BY; any repeat breaks the increase, so it is still found and named, and nothing is written."""
    monkeypatch.setattr("migu_assets.loader.read.BATCH", 4)
    path = write_csv(tmp_path / "t.csv", _tickets(policy, ids))
    assert_rejected(seeded, policy, "complaint_tickets", path, repeat_row, "ticket_id", "重复")


def test_an_in_memory_sqlite_warehouse_keeps_its_data_after_a_load(policy, tmp_path):
    """SPEC §1 loads on an in-memory SQLite warehouse: its staging table is dropped, not discarded with the
    connection (which holds the whole database)."""
    from migu_assets.warehouse import migrate
    from migu_assets.warehouse.engine import engine_for

    engine = engine_for("sqlite://")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(partners.insert(), [{"partner_id": "P1", "name": "甲", "parent_company_id": None,
                                          "on_network_rights_platform": False, "cooperation_start": dt.date(2023, 1, 1)}])
    path = write_csv(tmp_path / "t.csv", _tickets(policy, ["T1", "T2"]))
    assert load_file(engine, "complaint_tickets", path, policy).inserted == 2
    assert load_file(engine, "complaint_tickets", path, policy) == LoadResult("complaint_tickets", 0, 2)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master").scalar_one() == 0
    assert count(engine, "complaint_tickets") == 2


@pytest.mark.parametrize("limit", [100_000, 1], ids=["values-kept", "too-many-values"])
def test_an_unknown_partner_is_found_whether_or_not_the_files_partner_ids_are_kept(
    seeded, policy, tmp_path, monkeypatch, limit
):
    """SPEC §1 partner_id must name a partner already in the warehouse. The loader keeps the file's few distinct
    partner ids and looks each up once; past DISTINCT_LIMIT it looks up every row, as before. Either way the unknown
    one is named at its row, and nothing is written."""
    from migu_assets.loader import stage

    monkeypatch.setattr(stage, "DISTINCT_LIMIT", limit)
    rows = [valid_row("complaint_tickets", policy, ticket_id=f"T{i}", partner_id=p)
            for i, p in enumerate(["P1", "P2", "P3", "P1", "P9"])]
    assert_rejected(seeded, policy, "complaint_tickets", write_csv(tmp_path / "t.csv", rows), 6, "partner_id",
                    "partners 中没有 partner_id 为 'P9' 的行")
    assert load_file(seeded, "complaint_tickets", write_csv(tmp_path / "ok.csv", rows[:4]), policy).inserted == 4
