"""Finding partners the way staff name them: an id in any case and spacing (``p0007``, `` P0007``), a full name,
or a fragment of a name that matches exactly one partner. Used by ``migu-assets partners`` and every command that
takes a partner argument."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from migu_assets.warehouse import schema as s

MAX_CANDIDATES = 5


class PartnerNotFound(LookupError):
    def __init__(self, text: str, candidates: list[PartnerRow]):
        self.text = text
        self.candidates = candidates
        super().__init__(text)


@dataclass(frozen=True)
class PartnerRow:
    partner_id: str
    name: str
    latest_month: dt.date | None = None
    grade: str | None = None


def normalise(text: str) -> str:
    """As the loader stores keys (NFKC: full-width letters and digits become ASCII; without format characters such
    as a zero-width space pasted along with an id), trimmed, case-folded."""
    from migu_assets.loader.values import normalise_key

    return normalise_key(text).casefold()


def _with_latest_grade(conn: sa.Connection, where=None) -> list[PartnerRow]:
    p, g = s.partners, s.credit_grades
    latest = (
        sa.select(g.c.partner_id, sa.func.max(g.c.month).label("month")).group_by(g.c.partner_id).subquery()
    )
    q = (
        sa.select(p.c.partner_id, p.c.name, latest.c.month, g.c.grade)
        .select_from(
            p.outerjoin(latest, latest.c.partner_id == p.c.partner_id).outerjoin(
                g, sa.and_(g.c.partner_id == latest.c.partner_id, g.c.month == latest.c.month)
            )
        )
        .order_by(p.c.partner_id)
    )
    if where is not None:
        q = q.where(where)
    out = []
    for pid, name, month, grade in conn.execute(q):
        if month is not None and not isinstance(month, dt.date):
            month = dt.date.fromisoformat(str(month)[:10])
        out.append(PartnerRow(pid, name, month, grade))
    return out


def find_partners(conn: sa.Connection, text: str | None = None) -> list[PartnerRow]:
    """Every partner (``text`` empty) or those whose id or name contains ``text`` (case-insensitive), with the
    grade of their latest computed month."""
    rows = _with_latest_grade(conn)
    if not text or not normalise(text):
        return rows
    needle = normalise(text)
    return [r for r in rows if needle in normalise(r.partner_id) or needle in normalise(r.name)]


def resolve_partner(conn: sa.Connection, text: str) -> str:
    """The partner id ``text`` names: an id (any case), a full name, or a fragment matching one partner only.

    Raises :class:`PartnerNotFound` (with up to :data:`MAX_CANDIDATES` candidates when the text is ambiguous)."""
    needle = normalise(text)
    if not needle:
        raise PartnerNotFound(text, [])
    p = s.partners
    ids = conn.execute(sa.select(p.c.partner_id).where(sa.func.lower(p.c.partner_id) == needle)).scalars().all()
    if len(ids) == 1:
        return ids[0]
    matches = find_partners(conn, text)
    exact = [r for r in matches if needle in (normalise(r.partner_id), normalise(r.name))]
    if len(exact) == 1:
        return exact[0].partner_id
    if len(matches) == 1:
        return matches[0].partner_id
    raise PartnerNotFound(text, matches[:MAX_CANDIDATES] if len(matches) > 1 else [])
