"""The draft policy of a what-if run: validated like the shipped policy, in force for every month of the range.

Reading (docs/READINGS.md, "What-if runs"): the draft *replaces* the policy from the first month of the range on.
Months before the range keep the published versions (and their published results, copied as history into the
scenario store); a published version that takes effect inside the range is superseded by the draft. The draft's own
``effective_from`` is validated but not used: the credit office asks "what if v2.2 had applied to these months?",
which must work for a draft dated in the future.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError

from migu_assets.policy import Policy, PolicyBook, PolicyError, load_policy_book, load_policy_file
from migu_assets.resources import PolicyResource

# Chinese for the validation errors a hand-edited draft typically has (pydantic error types).
PROBLEMS = {
    "extra_forbidden": "不认识的键（拼写错误？）",
    "missing": "缺少此键",
    "decimal_parsing": "应为数字",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "literal_error": "取值不在允许的范围内",
    "list_type": "应为列表",
    "dict_type": "应为键值映射",
}


def problems(exc: PolicyError) -> list[str]:
    """One Chinese line per broken key (``键 credit.grades.1.min：应为数字（…）``), or the error itself."""
    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return [str(exc)]
    lines = []
    for error in cause.errors():
        key = ".".join(str(p) for p in error["loc"]) or "（文件顶层）"
        lines.append(f"键 {key}：{PROBLEMS.get(error['type'], '取值无效')}（{error['msg']}）")
    return lines


def load_draft(path: Path | str) -> Policy:
    """The draft, validated exactly like a shipped policy file (:class:`PolicyError` names the broken key)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"{path}: 文件不存在")
    return load_policy_file(path)


DRAFT_MARK = "+草案"


def draft_book(published: PolicyBook, draft: Policy, first_month: dt.date) -> PolicyBook:
    """``published`` up to ``first_month``, then ``draft`` (its ``effective_from`` moved to ``first_month``).

    Rows record their policy version: a draft still named like a published version (a copied file whose
    ``version`` was not changed) is recorded as ``<version>+草案`` so no scenario row passes for a published one.
    """
    first_month = first_month.replace(day=1)
    earlier = [p for p in published.versions if p.effective_from < first_month]
    update: dict = {"effective_from": first_month}
    if draft.version in {p.version for p in published.versions}:
        update["version"] = f"{draft.version}{DRAFT_MARK}"
    return PolicyBook([*earlier, draft.model_copy(update=update)])


@cache
def _cached_book(directory: str, draft_path: str, draft_from: str, stamp: tuple[int, int]) -> PolicyBook:
    del stamp  # part of the cache key only: an edited draft is read again
    return draft_book(load_policy_book(directory or None), load_draft(draft_path), dt.date.fromisoformat(draft_from))


class DraftPolicyResource(PolicyResource):
    """The published policy book with the draft in force from ``draft_from`` on (what-if runs only)."""

    draft_path: str = Field(description="草案政策文件（YAML）")
    draft_from: str = Field(description="草案生效的首月第一天 YYYY-MM-DD（what-if 的首月）")

    def book(self) -> PolicyBook:
        stat = Path(self.draft_path).stat()
        return _cached_book(self.directory, self.draft_path, self.draft_from, (stat.st_mtime_ns, stat.st_size))
