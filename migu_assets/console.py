"""What the command line shows staff: errors as one or two Chinese lines, text made safe for a terminal.

:class:`CliError` is the error a command raises on purpose (exit 1). :func:`describe` turns any other exception
into the same shape — what went wrong, what to do — so no operator meets a traceback unless they ask for one
(``--debug`` or ``MIGU_DEBUG=1``). Everything printed passes :func:`mask_secrets`.
"""

from __future__ import annotations

import errno
import os
import re

from migu_assets.settings import mask_secrets, masked_warehouse_url

DEBUG_ENV = "MIGU_DEBUG"
DEBUG_HINT = "加 --debug（或设置 MIGU_DEBUG=1）可查看详细的出错位置。"


class CliError(Exception):
    """A failure the operator can act on: ``message`` says what was wrong, ``hint`` what to do (exit 1)."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def lines(self) -> list[str]:
        return [mask_secrets(line) for line in (self.message, self.hint) if line]


class UsageProblem(CliError):
    """A bad argument (exit 2, like click's usage errors)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message, hint, exit_code=2)


def debug_requested(args: list[str] | None = None) -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on") or "--debug" in (args or [])


# C0 controls except TAB and LF, DEL, and C1 controls (ESC [, CSI …): a stored name cannot move the cursor,
# recolour the terminal or set its title.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_terminal(text: object) -> str:
    """``text`` with control characters shown as ``\\x1b``-style escapes (newlines and tabs kept)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc: BaseException) -> CliError:
    """One or two Chinese lines for an exception no command anticipated."""
    if isinstance(exc, CliError):
        return exc
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    ):
        return CliError(
            f"无法访问数据仓库 {masked_warehouse_url()}：{_first_line(exc)}",
            "请确认数据库已启动、可以连接，并检查 MIGU_WAREHOUSE_URL（或 MIGU_HOME）。",
        )
    if isinstance(exc, sa.exc.ArgumentError):
        return CliError(
            f"数据仓库地址无法识别：{_first_line(exc)}",
            "MIGU_WAREHOUSE_URL 应形如 postgresql://用户@主机:5432/库名 或 sqlite:////绝对路径/warehouse.db。",
        )
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return CliError(f"数据仓库出错：{_first_line(exc)}", DEBUG_HINT)
    if isinstance(exc, OSError):
        where = exc.filename or ""
        reasons = {
            errno.EACCES: "没有权限",
            errno.EPERM: "没有权限",
            errno.EEXIST: "路径中有同名文件",
            errno.ENOTDIR: "路径中有一段不是文件夹",
            errno.ENOENT: "路径不存在",
            errno.EISDIR: "这是一个文件夹",
            errno.ENOSPC: "磁盘已满",
            errno.EROFS: "文件系统只读",
        }
        reason = reasons.get(exc.errno, exc.strerror or type(exc).__name__)
        return CliError(f"无法读写 {where}：{reason}。", "请换一个可写的路径（例如用 --out 指定），或检查文件夹权限。")
    if isinstance(exc, KeyboardInterrupt):
        return CliError("已中断。")
    return CliError(f"出错了：{type(exc).__name__}: {_first_line(exc)}", DEBUG_HINT)
