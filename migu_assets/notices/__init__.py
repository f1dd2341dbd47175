"""Result letters (结果通知函, 第十四条): one per partner with a C–F/TERMINATED result, a warning tier, a control
action or a superseding result in a month, as DOCX and PDF, recorded in the ``notices`` table.

Used by the ``notices`` asset and by ``migu-assets notices`` (no Dagster run needed); no Dagster imports here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from migu_assets.notices.data import LetterData, partners_with_notice, read_letter
from migu_assets.notices.render import plain_text, render_text, to_docx, to_pdf
from migu_assets.policy import load_policy_book
from migu_assets.settings import migu_home
from migu_assets.warehouse import schema as s
from migu_assets.warehouse.writer import insert_rows

__all__ = ["LetterData", "NoticeFile", "NoticesResult", "build_notices", "notices_dir", "read_letter", "render_text"]

FORMATS = ("docx", "pdf")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def notices_dir(month: dt.date, root: Path | None = None) -> Path:
    return (root or migu_home() / "notices") / f"{month:%Y-%m}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def notice_filename(partner_id: str, month: dt.date, fmt: str) -> str:
    return f"notice-{_safe(partner_id)}-{month:%Y-%m}.{fmt}"


@dataclass(frozen=True)
class NoticeFile:
    partner_id: str
    month: dt.date
    format: str
    kind: str
    path: Path
    sha256: str
    text_sha256: str
    supersedes_month: dt.date | None


@dataclass
class NoticesResult:
    month: dt.date
    files: list[NoticeFile]

    @property
    def partners(self) -> list[str]:
        return sorted({f.partner_id for f in self.files})


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_notices(
    engine: sa.Engine,
    month: dt.date,
    out_dir: Path | None = None,
    partners: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    run_id: str | None = None,
) -> NoticesResult:
    """Write the month's letters (all partners that get one, or only ``partners``) and record them in ``notices``.

    The rows of the month (or of the named partners) are replaced atomically; a letter whose bytes did not change
    keeps its first ``created_at``, so the table says when each version was first issued. The file of a recorded
    letter that is no longer due (a recomputation lifted it) is removed with its row.
    """
    month = month.replace(day=1)
    folder = notices_dir(month, out_dir)
    with engine.connect() as conn:
        ids = partners_with_notice(conn, month, partners)
        letters = [read_letter(conn, pid, month) for pid in ids]
    files: list[NoticeFile] = []
    if letters:
        folder.mkdir(parents=True, exist_ok=True)
    for letter in letters:
        text = render_text(letter)
        text_sha = _sha(plain_text(text).encode())
        blobs = {"docx": to_docx(text, letter.letter_date), "pdf": to_pdf(text)}
        for fmt in FORMATS:
            path = folder / notice_filename(letter.partner_id, month, fmt)
            path.write_bytes(blobs[fmt])
            files.append(
                NoticeFile(
                    letter.partner_id,
                    month,
                    fmt,
                    letter.kind,
                    path,
                    _sha(blobs[fmt]),
                    text_sha,
                    letter.supersedes_month,
                )
            )
        if progress:
            progress(f"{letter.partner_id} {month:%Y-%m} ({letter.kind}): {folder}")
    _record(engine, month, partners, files, load_policy_book().for_month(month).version, run_id)
    return NoticesResult(month, files)


def _record(
    engine: sa.Engine,
    month: dt.date,
    partners: list[str] | None,
    files: list[NoticeFile],
    policy_version: str,
    run_id: str | None,
) -> None:
    n = s.notices
    scope = n.c.month == month
    if partners is not None:
        scope = sa.and_(scope, n.c.partner_id.in_(partners))
    now = dt.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        recorded = list(
            conn.execute(sa.select(n.c.partner_id, n.c.format, n.c.sha256, n.c.created_at, n.c.file).where(scope))
        )
        before = {(r.partner_id, r.format): (r.sha256, r.created_at) for r in recorded}
        conn.execute(n.delete().where(scope))
        rows = []
        for f in files:
            sha, created = before.get((f.partner_id, f.format), (None, None))
            rows.append(
                {
                    "partner_id": f.partner_id,
                    "month": month,
                    "format": f.format,
                    "kind": f.kind,
                    "file": str(f.path),
                    "sha256": f.sha256,
                    "text_sha256": f.text_sha256,
                    "supersedes_month": f.supersedes_month,
                    "created_at": created if sha == f.sha256 else now,
                    "policy_version": policy_version,
                    "run_id": run_id,
                }
            )
        insert_rows(conn, n, rows)
    # a letter no longer due (the month was recomputed) must not lie next to the issued ones unrecorded
    written = {str(f.path) for f in files}
    for r in recorded:
        if (r.partner_id, r.format) not in {(f.partner_id, f.format) for f in files} and r.file not in written:
            Path(r.file).unlink(missing_ok=True)
