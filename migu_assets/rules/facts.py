"""The facts several rules read, defined once: a contract (SPEC §1 ``contracts``) and a major violation (附件8,
``major_violations``). Renewals (第八章), settlement (第七章) and the measures' 第十条注 lapse all use these types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Contract:
    """A ``contracts`` row; the settlement rules need only its id and term, the renewal rules its flags too."""

    contract_id: str
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    partner_id: str = ""
    rights_delivered: bool = True
    product_launched: bool = True
    launch_blocked_by_partner: bool = False
    qualification_ok: bool = True
    exit_requested_on: dt.date | None = None
    decision_on: dt.date | None = None
    signed_on: dt.date | None = None


@dataclass(frozen=True)
class Violation:
    """A major violation (附件8). ``bad_credit_list``: handled under the 不良信用名单 regime (第十九条)."""

    violation_id: str
    occurred_on: dt.date
    violation_type: int | None = None
    bad_credit_list: bool = False


def of_cooperation(violations: Iterable[Violation], since: dt.date | None) -> list[Violation]:
    """The violations that belong to the cooperation that started on ``since`` (SPEC v2 §4.3, re-entry): those on
    or after its start. A violation before a later contract's start ended an earlier cooperation; the re-entered
    partner is judged afresh (no ``terminated`` renewal, no ``stopped`` settlement for it)."""
    return [v for v in violations if since is None or v.occurred_on >= since]
