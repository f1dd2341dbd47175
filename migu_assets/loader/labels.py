"""The Chinese names of the source columns, and how a file's header is matched to the contract's columns.

One vocabulary: a column is named in messages as ``partner_id（合作方编号）`` — the code the warehouse uses and the
name staff know from the monthly report (``report/sheets.py`` uses the same words for the same columns). A header
cell matches a contract column after trimming, Unicode NFKC and case folding, by its code or its Chinese name; a
missing column is answered with the header cell closest to either (``nmae`` → ``name``,
``合作方明称`` → ``合作方名称``).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from migu_assets.loader.values import INVISIBLE

# column → Chinese name (the report's column names where the report shows the column)
COLUMN_LABELS: dict[str, str] = {
    "partner_id": "合作方编号", "name": "合作方名称", "parent_company_id": "母公司编号",
    "on_network_rights_platform": "是否入驻网络权益平台", "cooperation_start": "合作开始日期",
    "ticket_id": "投诉单号", "business_id": "业务编号", "province": "省份", "category": "投诉类别",
    "created_at": "投诉时间", "due_at": "处理时限", "handled_at": "处理时间",
    "event_id": "事件编号", "sub_channel_id": "子渠道编号", "event_type": "事件类型", "event_date": "事件日期",
    "issuer_requirement": "发函要求",
    "declaration_id": "申报编号", "item": "重要性事项", "authorized_by_parent": "授权母公司",
    "submitted_on": "申报日期", "review_status": "审核状态", "reviewed_on": "审核日期", "minutes_ref": "会议纪要编号",
    "month": "月份", "info_fee_revenue": "信息费收入", "migu_purchases": "咪咕采购额",
    "migu_ad_spend": "咪咕广告投放额",
    "item_id": "结算明细编号", "payment_method": "付费方式", "channel": "渠道", "info_fee": "信息费",
    "share_ratio": "分成比例", "deductions": "扣减",
    "start_date": "开始日期", "end_date": "结束日期", "reason": "原因",
    "violation_id": "违规编号", "violation_type": "违规类型", "occurred_on": "发生日期", "recorded_at": "记录时间",
    "description": "违规描述", "bad_credit_list": "是否列入不良信用名单",
    "contract_id": "合同编号", "rights_delivered": "权益是否交付", "product_launched": "产品是否上线",
    "launch_blocked_by_partner": "是否因合作方原因未上线", "qualification_ok": "资质是否合格",
    "exit_requested_on": "退出申请日期", "decision_on": "续约决定日期", "signed_on": "签约日期",
    "issued_on": "下发日期",
    "measure_id": "措施编号", "executed_on": "执行日期", "executed_by": "执行人", "note": "备注",
    "deduction_id": "扣款编号", "kind": "扣款类别", "amount": "金额", "recorded_on": "记录日期",
}


def label(column: str) -> str:
    """``partner_id（合作方编号）`` — how every message names a column."""
    name = COLUMN_LABELS.get(column)
    return f"{column}（{name}）" if name else column


def fold(text: str) -> str:
    """A header cell as compared: NFKC, without format characters (BOM, zero-width, direction marks …), trimmed,
    case-folded."""
    return unicodedata.normalize("NFKC", INVISIBLE.sub("", text)).strip().casefold()


def names(column: str) -> list[str]:
    """What a header may call ``column``: its code and its Chinese name."""
    return [column, COLUMN_LABELS[column]] if column in COLUMN_LABELS else [column]


CLOSE = 0.6  # difflib's ratio from which a header cell is offered as the misspelling of a missing column


def closeness(cell: str, column: str) -> float:
    """How like one of ``column``'s names a header cell is (difflib's ratio, 0–1, after :func:`fold`)."""
    folded = fold(cell)
    return max(difflib.SequenceMatcher(None, fold(name), folded).ratio() for name in names(column))


@dataclass
class HeaderMatch:
    """Where each contract column is in the file's header, and what the header holds besides."""

    positions: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str | None] = field(default_factory=dict)  # column → closest unused header cell, if any
    repeated: dict[str, int] = field(default_factory=dict)  # column → how many header cells name it
    unknown: list[str] = field(default_factory=list)  # header cells naming no contract column (ignored)


def match_header(columns: Sequence[str], header: Sequence[str]) -> HeaderMatch:
    lookup: dict[str, str] = {}
    for column in columns:
        lookup[fold(column)] = column
        if column in COLUMN_LABELS:
            lookup.setdefault(fold(COLUMN_LABELS[column]), column)
    found: dict[str, list[int]] = {}
    result = HeaderMatch()
    for i, cell in enumerate(header):
        column = lookup.get(fold(cell))
        if column is None:
            if cell.strip():
                result.unknown.append(cell.strip())
            continue
        found.setdefault(column, []).append(i)
    for column in columns:
        where = found.get(column, [])
        if not where:
            result.missing[column] = None
        elif len(where) > 1:
            result.repeated[column] = len(where)
        else:
            result.positions[column] = where[0]
    # each missing column is offered the closest unknown cell, closest pairs first, a cell to one column only
    # (``合作方明称`` is nearer 合作方名称 than 合作方编号); ties keep the columns' and the header's order
    pairs = sorted(((closeness(cell, column), c, u) for c, column in enumerate(result.missing)
                    for u, cell in enumerate(result.unknown)), key=lambda p: -p[0])
    missing, offered = list(result.missing), set()
    for score, c, u in pairs:
        if score < CLOSE:
            break
        if result.missing[missing[c]] is None and u not in offered:
            result.missing[missing[c]] = result.unknown[u]
            offered.add(u)
    return result
