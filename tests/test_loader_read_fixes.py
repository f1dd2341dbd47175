"""Two defects of the file reader (issue: audit of ``loader/read.py``).

1. Short GBK/GB18030 CSV files were refused: charset_normalizer guesses cp949, big5 or cp1250 for a row or two of
   Chinese. The reader now decides by reading the bytes as GB18030 itself, and wherever the sample of the file is
   cut, a character split in two does not change the verdict.
2. A summary sheet beside the data sheet made the workbook ambiguous: a sheet is a candidate only if its header holds
   every column of the table.
"""

from __future__ import annotations

import random
from pathlib import Path

import openpyxl
import pytest
from test_loader import fetch, valid_row

from migu_assets.loader import LoadError, load_file
from migu_assets.loader import read as reader

HEADER = "partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
# every ideograph of the CJK block that GBK encodes: the "random hanzi" of the audit
HANZI = [c for c in map(chr, range(0x4E00, 0x9FA6)) if c.encode("gbk", errors="ignore")]


def one_row(partner_id: str, name: str) -> str:
    return f"{HEADER}{partner_id},{name},,否,2024-01-01\n"


def reads_as_damaged_utf8(data: bytes) -> bool:
    """GBK bytes that are at the same time mostly good UTF-8 (``痊楼`` is ``Ȭ¥`` in UTF-8): the reader takes them for a
    damaged UTF-8 file, as it always has — the one kind of short GBK file it still refuses."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    return sum(1 for c in text if ord(c) > 127) - broken > broken


# ---------------------------------------------------------------- 1. short GBK files


@pytest.mark.parametrize("name", ["张三", "咪咕音乐", "北京公司"])
@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_the_one_row_gbk_file_of_the_audit_loads(engine, policy, tmp_path, name, encoding):
    path = tmp_path / "p.csv"
    path.write_bytes(one_row("P0101", name).encode(encoding))
    result = load_file(engine, "partners", path, policy)
    assert result.inserted == 1
    assert [(r["partner_id"], r["name"], r["on_network_rights_platform"]) for r in fetch(engine, "partners")] == [
        ("P0101", name, False)]
    assert any("gb18030" in n for n in result.notes), result.notes


def test_short_gbk_files_of_random_hanzi_load(engine, policy, tmp_path):
    """Forty one-row GBK files, names of two to four random ideographs (26 of 40 such files were refused): each
    loads, with its name stored as written."""
    rng = random.Random(20240101)
    expected = {}
    for i in range(40):
        name = "".join(rng.choice(HANZI) for _ in range(rng.randint(2, 4)))
        data = one_row(f"P{i:04d}", name).encode("gbk")
        if reads_as_damaged_utf8(data):
            continue
        path = tmp_path / f"p{i}.csv"
        path.write_bytes(data)
        assert load_file(engine, "partners", path, policy).inserted == 1, name
        expected[f"P{i:04d}"] = name
    assert len(expected) >= 38
    assert {r["partner_id"]: r["name"] for r in fetch(engine, "partners")} == expected


def test_the_encoding_of_many_short_gbk_files_is_recognised(tmp_path):
    """The same, without a database, over many more files: every one-row GBK file is GB18030 — but for the GBK bytes
    that are mostly good UTF-8 as well, which are refused as a damaged UTF-8 file."""
    rng = random.Random(7)
    ambiguous = 0
    for i in range(3000):
        name = "".join(rng.choice(HANZI) for _ in range(rng.randint(1, 4)))
        data = one_row(f"P{i:04d}", name).encode("gbk")
        if reads_as_damaged_utf8(data):
            ambiguous += 1
            with pytest.raises(LoadError, match="不是有效的 UTF-8"):
                reader.detect_encoding(tmp_path / "p.csv", data)
        else:
            assert reader.detect_encoding(tmp_path / "p.csv", data) == "gb18030", name
    assert ambiguous < 30


@pytest.mark.parametrize("row", ["P0101,张三,,false,2024-01-01", "P0101,杨英灼,,false,2024-01-01",
                                 "P0101,咪咕VIP会员,,是,2024-01-01", "P0101,痊楼,,否,2024-01-01"])
def test_one_chinese_word_is_enough(tmp_path, row):
    """A single Chinese name (``杨英`` is ``ѵ`` + ``Ӣ`` in UTF-8 too), or a name mixing Latin letters."""
    assert reader.detect_encoding(tmp_path / "p.csv", f"{HEADER}{row}\n".encode("gbk")) == "gb18030"


@pytest.mark.parametrize(("encoding", "text"), [
    ("latin-1", "Müller,Zürich GmbH,Straße,Åström\n"),
    ("cp1250", "Müller,Zürich,Kraków,Dvořák\n"),
    ("shift_jis", "株式会社ソニー,テキスト,日本語のテスト\n"),
    ("big5", "繁體中文,測試有限公司,咪咕音樂\n"),
])
def test_other_encodings_are_still_refused(tmp_path, encoding, text):
    """Western and Japanese text whose bytes happen to be valid GB18030 is not taken for Chinese."""
    data = f"{HEADER}{text}".encode(encoding)
    with pytest.raises(LoadError, match="不是 UTF-8 或 GB18030/GBK"):
        reader.detect_encoding(tmp_path / "p.csv", data)


def _split_characters(data: bytes, encoding: str) -> list[int]:
    """The byte positions inside a multibyte character of ``data``."""
    inside, at = [], 0
    for char in data.decode(encoding):
        size = len(char.encode(encoding))
        inside += range(at + 1, at + size)
        at += size
    return inside


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_wherever_the_sample_is_cut_the_verdict_holds(tmp_path, monkeypatch, encoding):
    """The sample of a file that is longer than the sample may end inside a character — in a 2-, 3- or 4-byte UTF-8
    character, in a 2- or 4-byte GB18030 one (``𠀀`` is four bytes in both): the encoding is recognised all the
    same, at every cut after the first Chinese words."""
    text = ("合作方编号,合作方名称,母公司编号,是否入驻网络权益平台,合作开始日期\n"
            "P1,咪咕音乐𠀀有限公司·é,,否,2024-01-01\nP2,北京公司【测试】𪚥,,是,2024-01-02\n")
    data = text.encode(encoding)
    start = len(("合作方编号,合作方名称,").encode(encoding))
    split = _split_characters(data, encoding)
    for cut in range(start, len(data)):
        monkeypatch.setattr(reader, "SAMPLE", cut)
        assert reader.detect_encoding(tmp_path / "p.csv", data[:cut]) == encoding, (cut, cut in split)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_file_whose_sample_ends_inside_a_character_loads(engine, policy, tmp_path, monkeypatch, encoding):
    """A file longer than the sample, the sample ending inside a multibyte character of a line longer than the
    sample (so it cannot end with its line): the file loads, every name intact."""
    names = {"P1": "咪咕音乐" * 20 + "𠀀有限公司", "P2": "北京公司·测试"}
    text = HEADER + "".join(f"{pid},{name},,否,2024-01-01\n" for pid, name in names.items())
    data = text.encode(encoding)
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    line_start = len((HEADER + "P1,").encode(encoding))
    cuts = [c for c in _split_characters(data, encoding) if line_start < c < line_start + 60][:6]
    assert cuts
    for cut in cuts:
        monkeypatch.setattr(reader, "SAMPLE", cut)
        result = load_file(engine, "partners", path, policy)
        assert result.inserted + result.unchanged == 2, cut
        assert {r["partner_id"]: r["name"] for r in fetch(engine, "partners")} == names
        assert any("gb18030" in n for n in result.notes) == (encoding == "gb18030"), (cut, result.notes)


# ---------------------------------------------------------------- 2. choosing the sheet


def _workbook(path: Path, sheets: list[tuple[str, list[list]]], active: int) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.active = active
    wb.save(path)
    return path


def _data(policy, partner_id: str) -> list[list]:
    return [list(valid_row("partners", policy)), [partner_id, "新", "", "false", "2024-01-01"]]


SUMMARY = [["合作方编号", "合计"], ["P9", 3]]


@pytest.mark.parametrize("active", [0, 1])
def test_a_summary_sheet_is_not_a_candidate(engine, policy, tmp_path, active):
    """数据 holds the table, 汇总 names one of its columns: 数据 is read, whichever of the two is active."""
    path = _workbook(tmp_path / "p.xlsx", [("汇总", SUMMARY), ("数据", _data(policy, "P9"))], active=active)
    result = load_file(engine, "partners", path, policy)
    assert [r["partner_id"] for r in fetch(engine, "partners")] == ["P9"]
    assert any("数据" in n for n in result.notes), result.notes


def test_a_sheet_is_a_candidate_by_chinese_headers_too(engine, policy, tmp_path):
    """Headers are matched as always — trimmed, case-folded, by code or Chinese name."""
    header = [" 合作方编号 ", "NAME", "母公司编号", "是否入驻网络权益平台", "Cooperation_Start ", "备注"]
    path = _workbook(tmp_path / "p.xlsx", [("汇总", SUMMARY), ("数据", [header, ["P9", "新", "", "否", "2024-01-01", ""]])],
                     active=0)
    load_file(engine, "partners", path, policy)
    assert [r["partner_id"] for r in fetch(engine, "partners")] == ["P9"]


def test_two_full_candidates_still_need_sheet(engine, policy, tmp_path):
    path = _workbook(tmp_path / "p.xlsx", [("汇总", SUMMARY), ("一月", _data(policy, "P8")), ("二月", _data(policy, "P9"))],
                     active=0)
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    (message,) = info.value.messages
    assert "多个工作表" in message and "一月、二月" in message and "汇总" not in message and "--sheet" in message
    load_file(engine, "partners", path, policy, sheet="二月")
    assert [r["partner_id"] for r in fetch(engine, "partners")] == ["P9"]


def test_no_candidate_reads_the_active_sheet_and_names_the_missing_column(engine, policy, tmp_path):
    header = ["partner_id", "nmae", "parent_company_id", "on_network_rights_platform", "cooperation_start"]
    path = _workbook(tmp_path / "p.xlsx",
                     [("汇总", SUMMARY), ("数据", [header, ["P9", "新", "", "false", "2024-01-01"]])], active=1)
    with pytest.raises(LoadError) as info:
        load_file(engine, "partners", path, policy)
    (message,) = info.value.messages
    assert "缺少必需的列 name（合作方名称）" in message and "'nmae'" in message and "拼错" in message
    assert fetch(engine, "partners") == []
