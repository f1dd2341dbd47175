"""Notification channels (issue 16) against real local servers, not mocks of the HTTP client: an http.server in a
thread stands in for the generic webhook, the 企业微信 and 钉钉 group robots (it checks the JSON each platform
documents and answers as they do), aiosmtpd for SMTP. Retries with backoff on 5xx/timeouts are proven by counting
the requests that arrive; 4xx and a robot's errcode are not retried. Also the configuration (YAML with {env: …},
environment variables) and `migu-assets notify --test`."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.notify import DeliveryError, Message, Retry, load_config
from migu_assets.notify.channels import DingTalkChannel, SmtpChannel, WebhookChannel, WeComChannel
from migu_assets.notify.config import ConfigError

MESSAGE = Message(
    "results_computed",
    "2024年3月信用积分结果已计算",
    ("评级分布（共4家）：A级2家，D级1家，F级1家", "新进入C–F级/终止合作的合作方1家：P3（测试合作方P3，F级，100.00分）"),
    "http://dagster.example/runs/abc",
    ("results_computed:2024-03:0123",),
)


# ------------------------------------------------------------------ a local stand-in for the three HTTP platforms


@dataclass
class Received:
    path: str
    query: dict
    headers: dict
    body: dict


@dataclass
class FakePlatforms:
    """Answers like the platforms: WeCom and DingTalk return HTTP 200 + errcode; scripted failures come first."""

    base: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[tuple] = field(default_factory=list)  # ("status", code) | ("delay", seconds) | ("errcode", n)
    dingtalk_secret: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def wecom_check(self, q: dict, body: dict) -> dict:
        # https://developer.work.weixin.qq.com/document/path/91770 — key in the URL; markdown.content ≤ 4096 bytes
        if not q.get("key"):
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        if body.get("msgtype") == "markdown":
            content = body.get("markdown", {}).get("content")
            if not isinstance(content, str) or not content or len(content.encode()) > 4096:
                return {"errcode": 40058, "errmsg": "markdown.content exceed max length or empty"}
            return {"errcode": 0, "errmsg": "ok"}
        if body.get("msgtype") == "text" and isinstance(body.get("text", {}).get("content"), str):
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 40008, "errmsg": "invalid message type"}

    def dingtalk_check(self, q: dict, body: dict) -> dict:
        # https://open.dingtalk.com/document/robots/custom-robot-access — access_token; 加签 timestamp + sign
        if not q.get("access_token"):
            return {"errcode": 300001, "errmsg": "token is not exist"}
        if self.dingtalk_secret:
            ts = q.get("timestamp", "")
            if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600_000:
                return {"errcode": 310000, "errmsg": "invalid timestamp"}
            expected = base64.b64encode(
                hmac.new(
                    self.dingtalk_secret.encode(), f"{ts}\n{self.dingtalk_secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            if q.get("sign") != expected:
                return {"errcode": 310000, "errmsg": "sign not match"}
        md = body.get("markdown", {})
        if body.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
            return {"errcode": 40035, "errmsg": "缺少参数 markdown"}
        return {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def platforms():
    state = FakePlatforms()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            body = json.loads(raw.decode("utf-8"))
            state.requests.append(Received(parsed.path, query, dict(self.headers), body))
            step = state.script.pop(0) if state.script else None
            if step and step[0] == "delay":
                time.sleep(step[1])
            if step and step[0] == "status":
                return self._answer(step[1], {"error": "scripted"})
            if step and step[0] == "errcode":
                return self._answer(200, {"errcode": step[1], "errmsg": "scripted"})
            if parsed.path == "/cgi-bin/webhook/send":
                return self._answer(200, state.wecom_check(query, body))
            if parsed.path == "/robot/send":
                return self._answer(200, state.dingtalk_check(query, body))
            return self._answer(204, None)

        def _answer(self, status: int, payload):
            data = json.dumps(payload).encode() if payload is not None else b""
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def fast_retry(attempts=3, timeout=2.0, sleeps=None) -> Retry:
    return Retry(
        attempts=attempts,
        backoff_seconds=0.01,
        timeout_seconds=timeout,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


# ------------------------------------------------------------------ one platform each


def test_generic_webhook_posts_the_event_json_signed(platforms):
    channel = WebhookChannel("ops", platforms.url("/hook"), secret="s3cret", retry=fast_retry())
    assert channel.deliver(MESSAGE) == 1
    (req,) = platforms.requests
    assert req.body == {
        "source": "migu_assets",
        "event": "results_computed",
        "title": "2024年3月信用积分结果已计算",
        "lines": list(MESSAGE.lines),
        "text": MESSAGE.text,
        "link": "http://dagster.example/runs/abc",
        "dedup_keys": ["results_computed:2024-03:0123"],
    }
    assert req.headers["Content-Type"] == "application/json; charset=utf-8"
    body = json.dumps(req.body, ensure_ascii=False).encode()
    assert req.headers["X-Migu-Signature"] == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


def test_wecom_robot_markdown_is_accepted(platforms):
    channel = WeComChannel("wecom", platforms.url("/cgi-bin/webhook/send?key=KEY-1"), retry=fast_retry())
    assert channel.deliver(MESSAGE) == 1
    (req,) = platforms.requests
    assert req.query == {"key": "KEY-1"}
    content = req.body["markdown"]["content"]
    assert req.body["msgtype"] == "markdown"
    assert content.startswith("**【联合会员】2024年3月信用积分结果已计算**\n> 评级分布")
    assert content.endswith("[在 Dagster 中查看](http://dagster.example/runs/abc)")


def test_wecom_long_message_is_cut_to_the_documented_4096_bytes(platforms):
    long = Message(
        "measures_overdue",
        "处置措施逾期未执行",
        tuple(f"P{i:04d} 停止投放新业务代码、新产品或开展新类型合作" for i in range(200)),
    )
    WeComChannel("wecom", platforms.url("/cgi-bin/webhook/send?key=K"), retry=fast_retry()).deliver(long)
    assert len(platforms.requests[0].body["markdown"]["content"].encode()) <= 4096


def test_dingtalk_robot_markdown_signed_as_documented(platforms):
    platforms.dingtalk_secret = "SECabc"
    channel = DingTalkChannel(
        "dd", platforms.url("/robot/send?access_token=TOKEN"), secret="SECabc", retry=fast_retry()
    )
    assert channel.deliver(MESSAGE) == 1
    (req,) = platforms.requests
    assert req.query["access_token"] == "TOKEN" and req.query["sign"]
    assert req.body["markdown"]["title"] == "【联合会员】2024年3月信用积分结果已计算"
    assert "- 评级分布（共4家）" in req.body["markdown"]["text"]
    # a wrong secret is refused by the platform (errcode 310000) and not retried
    bad = DingTalkChannel("dd", platforms.url("/robot/send?access_token=TOKEN"), secret="wrong", retry=fast_retry())
    with pytest.raises(DeliveryError, match="310000") as info:
        bad.deliver(MESSAGE)
    assert not info.value.transient and len(platforms.requests) == 2


# ------------------------------------------------------------------ retries


def test_5xx_is_retried_with_exponential_backoff(platforms):
    platforms.script = [("status", 503), ("status", 502)]
    sleeps: list[float] = []
    channel = WebhookChannel("ops", platforms.url("/hook"), retry=fast_retry(attempts=4, sleeps=sleeps))
    assert channel.deliver(MESSAGE) == 3
    assert len(platforms.requests) == 3
    assert sleeps == [0.01, 0.02]


def test_timeout_is_retried(platforms):
    platforms.script = [("delay", 1.0)]
    channel = WebhookChannel("ops", platforms.url("/hook"), retry=fast_retry(timeout=0.3))
    assert channel.deliver(MESSAGE) == 2
    assert len(platforms.requests) == 2


def test_4xx_and_robot_errcode_are_not_retried_and_5xx_gives_up(platforms):
    platforms.script = [("status", 400)]
    with pytest.raises(DeliveryError, match="HTTP 400") as info:
        WebhookChannel("ops", platforms.url("/hook"), retry=fast_retry()).deliver(MESSAGE)
    assert not info.value.transient and len(platforms.requests) == 1
    platforms.script = [("errcode", 93000)]
    with pytest.raises(DeliveryError, match="93000"):
        WeComChannel("w", platforms.url("/cgi-bin/webhook/send?key=K"), retry=fast_retry()).deliver(MESSAGE)
    assert len(platforms.requests) == 2
    platforms.script = [("status", 500)] * 3
    with pytest.raises(DeliveryError, match="HTTP 500.*第3次尝试后放弃"):
        WebhookChannel("ops", platforms.url("/hook"), retry=fast_retry(attempts=3)).deliver(MESSAGE)
    assert len(platforms.requests) == 5


def test_rate_limited_robot_is_retried(platforms):
    platforms.script = [("errcode", 45009)]  # 企业微信: 接口调用超过限制
    assert WeComChannel("w", platforms.url("/cgi-bin/webhook/send?key=K"), retry=fast_retry()).deliver(MESSAGE) == 2


def test_refused_connection_is_transient():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(DeliveryError, match="连接失败") as info:
        WebhookChannel("ops", f"http://127.0.0.1:{port}/hook", retry=fast_retry(attempts=2)).deliver(MESSAGE)
    assert info.value.transient


# ------------------------------------------------------------------ SMTP (aiosmtpd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse_first = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_first:
            self.refuse_first -= 1
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def test_smtp_sends_a_chinese_email(smtp_server):
    box, port = smtp_server
    channel = SmtpChannel(
        "email",
        "127.0.0.1",
        port,
        "migu@example.com",
        ["a@example.com", "b@example.com"],
        security="none",
        retry=fast_retry(),
    )
    assert channel.deliver(MESSAGE) == 1
    (mail,) = box.messages
    assert box.envelopes[0].rcpt_tos == ["a@example.com", "b@example.com"]
    assert mail["Subject"] == "【联合会员】2024年3月信用积分结果已计算"
    body = mail.get_content()
    assert "评级分布（共4家）：A级2家，D级1家，F级1家" in body
    assert "查看：http://dagster.example/runs/abc" in body


def test_smtp_4xx_is_retried(smtp_server):
    box, port = smtp_server
    box.refuse_first = 1
    channel = SmtpChannel(
        "email", "127.0.0.1", port, "m@example.com", ["a@example.com"], security="none", retry=fast_retry()
    )
    assert channel.deliver(MESSAGE) == 2
    assert len(box.messages) == 1


# ------------------------------------------------------------------ configuration and `migu-assets notify`


def write_config(tmp_path, platforms, **extra) -> str:
    path = tmp_path / "notify.yaml"
    path.write_text(
        f"""
ui_base_url: {{env: TEST_UI}}
retries: 2
backoff_seconds: 0.01
timeout_seconds: 2
channels:
  - name: ops
    type: webhook
    url: {platforms.url("/hook")}
  - name: wecom
    type: wecom
    url: {{env: TEST_WECOM_URL}}
    events: [results_computed]
  - name: off
    type: dingtalk
    enabled: false
    url: {platforms.url("/robot/send?access_token=T")}
""",
        encoding="utf-8",
    )
    return str(path)


def test_yaml_config_resolves_env_and_skips_unset_channels(tmp_path, platforms):
    path = write_config(tmp_path, platforms)
    config = load_config({"config_file": path}, env={"TEST_UI": "http://ui:3000/"})
    assert [c.name for c in config.channels] == ["ops"]  # wecom's variable unset; dingtalk disabled
    assert config.skipped == ["wecom"]
    assert config.link("runs/x") == "http://ui:3000/runs/x"
    config = load_config({"config_file": path}, env={"TEST_WECOM_URL": platforms.url("/cgi-bin/webhook/send?key=K")})
    assert [(c.name, c.kind) for c in config.channels] == [("ops", "webhook"), ("wecom", "wecom")]
    assert config.channels[1].accepts("results_computed") and not config.channels[1].accepts("run_failure")
    assert config.channels[0].retry.attempts == 2 and config.link("x") is None


def test_nothing_is_enabled_by_default_and_env_variables_add_channels(platforms):
    assert load_config(env={}).channels == []
    config = load_config(
        env={
            "MIGU_NOTIFY_WEBHOOK_URL": platforms.url("/hook"),
            "MIGU_NOTIFY_SMTP_HOST": "127.0.0.1",
            "MIGU_NOTIFY_SMTP_SENDER": "m@example.com",
            "MIGU_NOTIFY_SMTP_RECIPIENTS": "a@example.com; b@example.com",
            "MIGU_NOTIFY_SMTP_SECURITY": "none",
            "MIGU_NOTIFY_SMTP_PORT": "2525",
        }
    )
    assert [(c.name, c.kind) for c in config.channels] == [("webhook", "webhook"), ("email", "smtp")]
    assert config.channels[1].recipients == ["a@example.com", "b@example.com"] and config.channels[1].port == 2525


def test_bad_config_is_a_clear_error(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text("channels:\n  - {type: telegram, url: http://x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="telegram"):
        load_config({"config_file": str(path)}, env={})
    path.write_text("channels:\n  - {type: webhook, url: http://x, events: [everything]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="everything"):
        load_config({"config_file": str(path)}, env={})


def test_shipped_example_config_enables_nothing():
    from importlib.resources import files

    example = files("migu_assets.notify").joinpath("notify.example.yaml")
    config = load_config({"config_file": str(example)}, env={"MIGU_NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9/x"})
    assert config.channels == []


def test_cli_notify_test_sends_to_each_channel(tmp_path, platforms, smtp_server):
    box, port = smtp_server
    env = {
        "MIGU_NOTIFY_CONFIG": write_config(tmp_path, platforms),
        "TEST_WECOM_URL": platforms.url("/cgi-bin/webhook/send?key=K"),
        "MIGU_NOTIFY_SMTP_HOST": "127.0.0.1",
        "MIGU_NOTIFY_SMTP_PORT": str(port),
        "MIGU_NOTIFY_SMTP_SECURITY": "none",
        "MIGU_NOTIFY_SMTP_SENDER": "m@example.com",
        "MIGU_NOTIFY_SMTP_RECIPIENTS": "ops@example.com",
    }
    result = CliRunner().invoke(app, ["notify", "--test"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["ops: sent", "wecom: sent", "email: sent"]
    assert [r.path for r in platforms.requests] == ["/hook", "/cgi-bin/webhook/send"]
    assert platforms.requests[0].body["event"] == "test" and "测试" in platforms.requests[0].body["title"]
    assert box.messages[0]["Subject"] == "【联合会员】联合会员通知测试"
    listing = CliRunner().invoke(app, ["notify"], env=env)
    assert listing.exit_code == 0 and "wecom\twecom\tresults_computed" in listing.output
    platforms.script = [("status", 500)] * 2
    failed = CliRunner().invoke(app, ["notify", "--test"], env=env)
    assert failed.exit_code == 1 and "ops: FAILED HTTP 500" in failed.output


def test_cli_notify_without_channels_exits_2(monkeypatch):
    for var in (
        "MIGU_NOTIFY_CONFIG",
        "MIGU_NOTIFY_WEBHOOK_URL",
        "MIGU_NOTIFY_WECOM_URL",
        "MIGU_NOTIFY_DINGTALK_URL",
        "MIGU_NOTIFY_SMTP_HOST",
    ):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(app, ["notify", "--test"])
    assert result.exit_code == 2 and "no notification channel configured" in result.output
