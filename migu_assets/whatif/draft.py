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

from pydantic import Field

from migu_assets.policy import Policy, PolicyBook, PolicyError, load_policy_book, load_policy_file
from migu_assets.resources import PolicyResource


def load_draft(path: Path | str) -> Policy:
    """The draft, validated exactly like a shipped policy file (:class:`PolicyError` names the broken key)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"{path}: no such policy file")
    return load_policy_file(path)


def draft_book(published: PolicyBook, draft: Policy, first_month: dt.date) -> PolicyBook:
    """``published`` up to ``first_month``, then ``draft`` (its ``effective_from`` moved to ``first_month``)."""
    first_month = first_month.replace(day=1)
    earlier = [p for p in published.versions if p.effective_from < first_month]
    return PolicyBook([*earlier, draft.model_copy(update={"effective_from": first_month})])


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
