"""Issue 14's audit of the loader's values, on SQLite and PostgreSQL (the ``engine`` fixture):

1. look-alike keys — every Unicode format character (Cf) is removed from identifiers, on both conversion paths;
2. control characters — every C0 control but tab (CR and LF too), DEL and the C1 controls are rejected in text cells;
3. misspelt Chinese headers — a missing column is offered the header cell closest to its code or Chinese name.
"""

from __future__ import annotations

import datetime as dt
import sys
import unicodedata

import openpyxl
import pyarrow as pa
import pytest
from test_loader import count, fetch, valid_row, write_csv

from migu_assets.loader import LoadError, LoadResult, load_file
from migu_assets.loader.columnar import normalise_keys
from migu_assets.loader.values import INVISIBLE, normalise_key
from migu_assets.warehouse.schema import partners

SEEDED = [("P1", "甲子公司", "G1"), ("P2", "乙子公司", "G1"), ("P3", "丙公司", None)]


@pytest.fixture
def seeded(engine):
    with engine.begin() as conn:
        conn.execute(partners.insert(), [
            {"partner_id": pid, "name": name, "parent_company_id": parent, "on_network_rights_platform": False,
             "cooperation_start": dt.date(2023, 1, 1)} for pid, name, parent in SEEDED])
    return engine


# ---------------------------------------------------------------- 1. look-alike keys

# BOM, soft hyphen, ZWSP, ZWNJ, ZWJ, LRM, RLM, LRE, RLO, PDF, word joiner, invisible separator, LRI, PDI, Arabic
# letter mark, Mongolian vowel separator, interlinear annotation anchor, a tag character
FORMAT = ["\ufeff", "\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u202c",
          "\u2060", "\u2063", "\u2066", "\u2069", "\u061c", "\u180e", "\ufff9", "\U000e0041"]


def hide(char: str, key: str, where: str) -> str:
    return {"start": char + key, "middle": key[:1] + char + key[1:], "end": key + char}[where]


def test_every_format_character_and_only_those_is_removed():
    """The written-out class is exactly Unicode category Cf of this Python's unicodedata."""
    cf = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    assert {c for c in map(chr, range(sys.maxunicode + 1)) if INVISIBLE.fullmatch(c)} == cf
    assert set(FORMAT) <= cf


@pytest.mark.parametrize("char", FORMAT, ids=lambda c: f"U+{ord(c):04X}")
def test_a_format_character_anywhere_in_a_key_is_the_same_partner(seeded, policy, tmp_path, char):
    """The audit's P0001\\u200e and P00\\u00ad02: start, middle or end, in a partner's key or a ticket's reference."""
    places = ["start", "middle", "end"]
    again = [valid_row("partners", policy, partner_id=hide(char, pid, where), name=name,
                       parent_company_id=parent or "", cooperation_start="2023-01-01")
             for (pid, name, parent), where in zip(SEEDED, places, strict=True)]
    result = load_file(seeded, "partners", write_csv(tmp_path / "p.csv", again), policy)
    assert result == LoadResult("partners", 0, 3)
    assert count(seeded, "partners") == 3
    refs = [valid_row("complaint_tickets", policy, ticket_id=hide(char, f"T{i}", where),
                      partner_id=hide(char, pid, where))
            for i, ((pid, _, _), where) in enumerate(zip(SEEDED, places[::-1], strict=True))]
    assert load_file(seeded, "complaint_tickets", write_csv(tmp_path / "t.csv", refs), policy).inserted == 3
    stored = sorted((r["ticket_id"], r["partner_id"]) for r in fetch(seeded, "complaint_tickets"))
    assert stored == [("T0", "P1"), ("T1", "P2"), ("T2", "P3")]


def test_look_alike_keys_in_one_file_are_one_key(engine, policy, tmp_path):
    """A new file holding P0001 and P0001\\u200e holds one key twice: a duplicate, not two partners."""
    rows = [valid_row("partners", policy, partner_id=pid) for pid in ["P0001", "P0001\u200e", "P00\u00ad02"]]
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", write_csv(tmp_path / "p.csv", rows), policy)
    assert {c.column for c in info.value.cells} == {"partner_id"}
    assert count(engine, "partners") == 0
    load_file(engine, "partners", write_csv(tmp_path / "p.csv", rows[1:]), policy)
    assert sorted(r["partner_id"] for r in fetch(engine, "partners")) == ["P0001", "P0002"]


def test_the_columnar_and_the_one_cell_path_normalise_keys_alike():
    values = [hide(c, key, where) for c in FORMAT for key in ["P0001", "合作方Ｐ１", "Ｔ\u00ad1"]
              for where in ["start", "middle", "end"]]
    values += ["P1", "Ｐ１", " \u200eP1\u2069 ", "\u200b", "\u00ad\ufeff", "e\u0301", "e\u200d\u0301", "ﬁ", None]
    column, changed = normalise_keys(pa.array(values, pa.string()))
    expected = [None if v is None else normalise_key(v) or None for v in values]
    assert column.to_pylist() == expected
    assert changed == sum(e != v for e, v in zip(expected, values, strict=True))
    assert not any(INVISIBLE.search(k) for k in expected if k)
    assert [normalise_key(k) for k in expected if k] == [k for k in expected if k]  # idempotent


# ---------------------------------------------------------------- 2. control characters


@pytest.mark.parametrize("column", ["name", "partner_id"])
@pytest.mark.parametrize("char", ["\r", "\n", "\r\n", "\x7f", "\x9b", "\x1b", "\x85"],
                         ids=["CR", "LF", "CRLF", "DEL", "CSI", "ESC", "NEL"])
def test_control_characters_and_line_breaks_in_a_cell_are_rejected(engine, policy, tmp_path, char, column):
    """In CSV a line break inside a cell is a quoted field; the rows after it keep their numbers."""
    rows = [valid_row("partners", policy, partner_id=pid) for pid in ["P7", "P8", "P9"]]
    rows[1][column] = f"{rows[1][column]}甲{char}乙"
    path = write_csv(tmp_path / "p.csv", rows)
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    ((row, where, reason),) = [(c.row, c.column, c.reason) for c in info.value.cells]
    assert (row, where) == (3, column)
    assert "控制字符" in reason and f"0x{ord(char[0]):02x}" in reason
    assert ("单元格内不能换行" in reason and "空格" in reason and "；" in reason) == (char[0] in "\r\n")
    assert any("第 3 行" in m and column in m for m in info.value.messages), info.value.messages
    assert count(engine, "partners") == 0


def test_a_line_break_in_an_xlsx_cell_is_rejected(engine, policy, tmp_path):
    """Alt+Enter in Excel."""
    wb = openpyxl.Workbook()
    row = valid_row("partners", policy, name="第一行\n第二行")
    wb.active.append(list(row))
    wb.active.append(list(row.values()))
    wb.save(tmp_path / "p.xlsx")
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", tmp_path / "p.xlsx", policy)
    assert [(c.row, c.column) for c in info.value.cells] == [(2, "name")]
    assert "不能换行" in info.value.cells[0].reason


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_tab_in_a_cell_and_the_files_line_endings_are_fine(engine, policy, tmp_path, ending):
    path = tmp_path / "p.csv"
    path.write_bytes(ending.join(["partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start",
                                  "P8,甲\t乙,,true,2023-01-01", "P9,丙,,true,2023-01-01", ""]).encode())
    assert load_file(engine, "partners", path, policy).inserted == 2
    assert sorted(r["name"] for r in fetch(engine, "partners")) == ["丙", "甲\t乙"]


# ---------------------------------------------------------------- 3. misspelt headers

COLUMNS = ["partner_id", "name", "parent_company_id", "on_network_rights_platform", "cooperation_start"]


def header_messages(engine, policy, tmp_path, header: list[str]) -> list[str]:
    path = tmp_path / "p.csv"
    path.write_text(",".join(header) + "\nP9,x,,true,2024-01-01\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    return info.value.messages


@pytest.mark.parametrize(("column", "typo", "label"), [
    ("name", "合作方明称", "name（合作方名称）"),
    ("name", "nmae", "name（合作方名称）"),
    ("parent_company_id", "母公司", "parent_company_id（母公司编号）"),
    ("cooperation_start", "合作开始日", "cooperation_start（合作开始日期）"),
])
def test_a_misspelt_header_code_or_chinese_name_is_suggested(engine, policy, tmp_path, column, typo, label):
    header = [typo if c == column else c for c in COLUMNS]
    (message,) = header_messages(engine, policy, tmp_path, header)
    assert f"缺少必需的列 {label}" in message and f"'{typo}'" in message and "拼错" in message


@pytest.mark.parametrize("unrelated", ["备注", "company", "金额"])
def test_an_unrelated_header_is_not_suggested(engine, policy, tmp_path, unrelated):
    header = [unrelated if c == "name" else c for c in COLUMNS]
    (message,) = header_messages(engine, policy, tmp_path, header)
    assert "缺少必需的列 name（合作方名称）" in message and "拼错" not in message and unrelated not in message


def test_a_header_cell_is_offered_to_the_column_it_is_closest_to(engine, policy, tmp_path):
    """合作方明称 is as near 合作方编号 as the cutoff, but nearer 合作方名称: offered once, to name."""
    messages = header_messages(engine, policy, tmp_path, ["合作方明称", *COLUMNS[2:]])
    (partner_id,) = [m for m in messages if "partner_id" in m]
    (name,) = [m for m in messages if "name（" in m]
    assert "拼错" not in partner_id and "'合作方明称'" in name


def test_a_format_character_in_a_header_cell_is_ignored(engine, policy, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("\u200e合作方编号\u200f,合作方\u00ad名称,parent_company_id,on_network_rights_platform,"
                    "cooperation_start\nP9,x,,true,2024-01-01\n", encoding="utf-8")
    assert load_file(engine, "partners", path, policy).inserted == 1
