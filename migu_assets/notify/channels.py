"""Notification channels: a generic JSON webhook, the WeCom (企业微信) and DingTalk (钉钉) group robots, SMTP email.

Each channel turns one :class:`Message` into its platform's request. Delivery retries with exponential backoff on
what may pass (HTTP 5xx and 429, timeouts, refused or reset connections, SMTP 4xx) and gives up at once on what
will not (HTTP 4xx, a robot's non-zero ``errcode``, SMTP 5xx): :class:`DeliveryError` says which and why.
HTTP goes through the standard library (``urllib``): a few JSON POSTs need no client dependency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

USER_AGENT = "migu-assets-notify/1"
# Prefix of every robot title and email subject: says where the message comes from, and is a fixed word for the
# robots' 自定义关键词 security setting (钉钉/企业微信 drop messages without the configured keyword).
PREFIX = "【联合会员】"
WECOM_MARKDOWN_BYTES = 4096  # 企业微信群机器人: markdown.content 最长 4096 字节 (UTF-8)
DINGTALK_RETRYABLE = {130101}  # 发送太快，请稍后重试 (rate limit)
WECOM_RETRYABLE = {45009, -1}  # 接口调用超过限制 / 系统繁忙


class DeliveryError(Exception):
    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Message:
    event: str  # results_computed | major_violation | measures_overdue | run_failure | test
    title: str
    lines: tuple[str, ...]
    link: str | None = None
    keys: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        body = "\n".join([self.title, *self.lines])
        return body + (f"\n查看：{self.link}" if self.link else "")


@dataclass
class Retry:
    attempts: int = 3
    backoff_seconds: float = 2.0
    timeout_seconds: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def run(self, send: Callable[[], None]) -> int:
        """Call ``send`` until it succeeds; returns the number of tries. Raises the last :class:`DeliveryError`."""
        for attempt in range(1, max(1, self.attempts) + 1):
            try:
                send()
                return attempt
            except DeliveryError as exc:
                if not exc.transient or attempt >= self.attempts:
                    raise DeliveryError(f"{exc}（第{attempt}次尝试后放弃）", exc.transient) from exc
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


def post_json(url: str, payload: dict, timeout: float, headers: dict | None = None) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}", transient=exc.code >= 500 or exc.code == 429) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"连接失败或超时：{reason}", transient=True) from exc


def _robot_reply(raw: bytes, retryable: set[int]) -> None:
    """WeCom and DingTalk answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; anything else is a failure."""
    try:
        reply = json.loads(raw or b"{}")
    except ValueError as exc:
        raise DeliveryError(f"无法解析的响应：{raw[:200]!r}", transient=True) from exc
    code = reply.get("errcode", 0)
    if code != 0:
        raise DeliveryError(f"errcode {code}: {reply.get('errmsg', '')}", transient=code in retryable)


class Channel:
    kind = "channel"

    def __init__(self, name: str, events: list[str] | None = None, retry: Retry | None = None):
        self.name = name
        self.events = set(events) if events else None
        self.retry = retry or Retry()

    def accepts(self, event: str) -> bool:
        return event == "test" or self.events is None or event in self.events

    def deliver(self, message: Message) -> int:
        """Send with retries; returns the number of tries, raises :class:`DeliveryError`."""
        return self.retry.run(lambda: self.send_once(message))

    def send_once(self, message: Message) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class WebhookChannel(Channel):
    """POST of a JSON document; with ``secret``, header ``X-Migu-Signature: sha256=<HMAC-SHA256 of the body>``."""

    kind = "webhook"

    def __init__(self, name: str, url: str, secret: str = "", **kw):
        super().__init__(name, **kw)
        self.url, self.secret = url, secret

    @staticmethod
    def payload(message: Message) -> dict:
        return {
            "source": "migu_assets",
            "event": message.event,
            "title": message.title,
            "lines": list(message.lines),
            "text": message.text,
            "link": message.link,
            "dedup_keys": list(message.keys),
        }

    def send_once(self, message: Message) -> None:
        payload = self.payload(message)
        headers = {}
        if self.secret:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Migu-Signature"] = f"sha256={digest}"
        post_json(self.url, payload, self.retry.timeout_seconds, headers)


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", errors="ignore") + "…"


class WeComChannel(Channel):
    """企业微信群机器人: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``, msgtype ``markdown``."""

    kind = "wecom"

    def __init__(self, name: str, url: str, **kw):
        super().__init__(name, **kw)
        self.url = url

    @staticmethod
    def payload(message: Message) -> dict:
        lines = [f"**{PREFIX}{message.title}**", *(f"> {line}" for line in message.lines)]
        if message.link:
            lines.append(f"[在 Dagster 中查看]({message.link})")
        return {"msgtype": "markdown", "markdown": {"content": _truncate_utf8("\n".join(lines), WECOM_MARKDOWN_BYTES)}}

    def send_once(self, message: Message) -> None:
        _robot_reply(post_json(self.url, self.payload(message), self.retry.timeout_seconds), WECOM_RETRYABLE)


class DingTalkChannel(Channel):
    """钉钉自定义机器人: ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN``, msgtype ``markdown``.

    With ``secret`` (加签), ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(secret,
    "{timestamp}\\n{secret}"))) are added to the URL, as DingTalk documents.
    """

    kind = "dingtalk"

    def __init__(self, name: str, url: str, secret: str = "", clock: Callable[[], float] = time.time, **kw):
        super().__init__(name, **kw)
        self.url, self.secret, self.clock = url, secret, clock

    @staticmethod
    def payload(message: Message) -> dict:
        lines = [f"#### {PREFIX}{message.title}", "", *(f"- {line}" for line in message.lines)]
        if message.link:
            lines += ["", f"[在 Dagster 中查看]({message.link})"]
        return {"msgtype": "markdown", "markdown": {"title": PREFIX + message.title, "text": "\n".join(lines)}}

    @staticmethod
    def sign(secret: str, timestamp_ms: int) -> str:
        to_sign = f"{timestamp_ms}\n{secret}".encode()
        digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
        return urllib.parse.quote_plus(base64.b64encode(digest))

    def signed_url(self) -> str:
        if not self.secret:
            return self.url
        timestamp = int(self.clock() * 1000)
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}timestamp={timestamp}&sign={self.sign(self.secret, timestamp)}"

    def send_once(self, message: Message) -> None:
        raw = post_json(self.signed_url(), self.payload(message), self.retry.timeout_seconds)
        _robot_reply(raw, DINGTALK_RETRYABLE)


class SmtpChannel(Channel):
    """Plain-text UTF-8 email; ``security`` is ``starttls`` (587), ``ssl`` (465) or ``none`` (a relay on localhost)."""

    kind = "smtp"

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        username: str = "",
        password: str = "",
        security: str = "starttls",
        **kw,
    ):
        super().__init__(name, **kw)
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"smtp security must be starttls, ssl or none, got {security!r}")
        self.host, self.port, self.sender, self.recipients = host, int(port), sender, list(recipients)
        self.username, self.password, self.security = username, password, security

    def email(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = f"{PREFIX}{message.title}"
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(domain="migu-assets")
        if message.keys:
            mail["X-Migu-Event"] = message.event
        mail.set_content(message.text + "\n")
        return mail

    def send_once(self, message: Message) -> None:
        timeout = self.retry.timeout_seconds
        try:
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=timeout)
            with client:
                if self.security == "starttls":
                    client.starttls()
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(self.email(message))
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", transient=400 <= exc.smtp_code < 500
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP 收件人被拒绝：{exc.recipients}", transient=False) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            raise DeliveryError(f"SMTP 连接失败或超时：{exc}", transient=True) from exc
