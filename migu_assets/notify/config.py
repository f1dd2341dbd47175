"""Notification configuration: a YAML file in the style of ``dagster.yaml`` (values may be ``{env: NAME}``) and/or
``MIGU_NOTIFY_*`` environment variables. No channel is enabled unless configured; a channel whose required value
is empty (an unset variable) is left out and named in ``skipped``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from migu_assets.notify.channels import (
    Channel,
    DingTalkChannel,
    Retry,
    SmtpChannel,
    WebhookChannel,
    WeComChannel,
)

EVENTS = ("results_computed", "major_violation", "measures_overdue", "run_failure")

# NotifierResource field → environment variable (also read by the CLI outside Dagster).
ENV_VARS = {
    "config_file": "MIGU_NOTIFY_CONFIG",
    "ui_base_url": "MIGU_DAGSTER_UI_URL",
    "webhook_url": "MIGU_NOTIFY_WEBHOOK_URL",
    "webhook_secret": "MIGU_NOTIFY_WEBHOOK_SECRET",
    "wecom_url": "MIGU_NOTIFY_WECOM_URL",
    "dingtalk_url": "MIGU_NOTIFY_DINGTALK_URL",
    "dingtalk_secret": "MIGU_NOTIFY_DINGTALK_SECRET",
    "smtp_host": "MIGU_NOTIFY_SMTP_HOST",
    "smtp_port": "MIGU_NOTIFY_SMTP_PORT",
    "smtp_security": "MIGU_NOTIFY_SMTP_SECURITY",
    "smtp_username": "MIGU_NOTIFY_SMTP_USERNAME",
    "smtp_password": "MIGU_NOTIFY_SMTP_PASSWORD",
    "smtp_sender": "MIGU_NOTIFY_SMTP_SENDER",
    "smtp_recipients": "MIGU_NOTIFY_SMTP_RECIPIENTS",
}

REQUIRED = {
    "webhook": ("url",),
    "wecom": ("url",),
    "dingtalk": ("url",),
    "smtp": ("host", "sender", "recipients"),
}


class ConfigError(ValueError):
    pass


@dataclass
class NotifyConfig:
    channels: list[Channel] = field(default_factory=list)
    ui_base_url: str = ""
    skipped: list[str] = field(default_factory=list)

    def link(self, path: str) -> str | None:
        """``{ui_base_url}/{path}`` when a base URL is configured, else None."""
        return f"{self.ui_base_url.rstrip('/')}/{path.lstrip('/')}" if self.ui_base_url else None


def _resolve(value, env: Mapping[str, str]):
    """``{env: NAME}`` → the variable's value ('' when unset); lists and mappings recursively."""
    if isinstance(value, Mapping):
        if set(value) == {"env"}:
            return env.get(str(value["env"]), "")
        return {k: _resolve(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, env) for v in value]
    return value


def _recipients(value) -> list[str]:
    if isinstance(value, str):
        return [r.strip() for r in value.replace(";", ",").split(",") if r.strip()]
    return [str(r).strip() for r in value or [] if str(r).strip()]


def build_channel(spec: Mapping, retry: Retry) -> Channel | None:
    """One channel from its mapping, or None when a required value is empty."""
    kind = spec.get("type")
    if kind not in REQUIRED:
        raise ConfigError(f"notification channel type must be one of {sorted(REQUIRED)}, got {kind!r}")
    if any(not spec.get(key) for key in REQUIRED[kind]):
        return None
    name = str(spec.get("name") or kind)
    events = spec.get("events") or None
    unknown = set(events or ()) - set(EVENTS)
    if unknown:
        raise ConfigError(f"channel {name}: unknown events {sorted(unknown)}; known: {', '.join(EVENTS)}")
    common = {"events": events, "retry": retry}
    if kind == "webhook":
        return WebhookChannel(name, spec["url"], secret=spec.get("secret") or "", **common)
    if kind == "wecom":
        return WeComChannel(name, spec["url"], **common)
    if kind == "dingtalk":
        return DingTalkChannel(name, spec["url"], secret=spec.get("secret") or "", **common)
    security = spec.get("security") or "starttls"
    port = int(spec.get("port") or {"ssl": 465, "starttls": 587}.get(security, 25))
    return SmtpChannel(
        name,
        host=spec["host"],
        port=port,
        sender=spec["sender"],
        recipients=_recipients(spec["recipients"]),
        username=spec.get("username") or "",
        password=spec.get("password") or "",
        security=security,
        **common,
    )


def load_config(
    values: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None, retry: Retry | None = None
) -> NotifyConfig:
    """The configuration from flat ``values`` (keys of :data:`ENV_VARS`; default: read from ``env``), merged with
    the YAML file ``values['config_file']`` names."""
    env = os.environ if env is None else env
    if values is None:
        values = {key: env.get(var, "") for key, var in ENV_VARS.items()}
    doc: dict = {}
    if values.get("config_file"):
        path = Path(values["config_file"])
        if not path.is_file():
            raise ConfigError(f"notification config file not found: {path}")
        doc = _resolve(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, env)

    def setting(key: str, default: float) -> float:
        value = doc.get(key, values.get(key))
        return float(value) if value not in (None, "") else default

    retry = retry or Retry(
        attempts=int(setting("retries", 3)),
        backoff_seconds=setting("backoff_seconds", 1.0),
        timeout_seconds=setting("timeout_seconds", 5.0),
    )
    specs = [(dict(c), True) for c in doc.get("channels") or [] if c.get("enabled", True)]
    env_specs = [
        {
            "type": "webhook",
            "name": "webhook",
            "url": values.get("webhook_url"),
            "secret": values.get("webhook_secret"),
        },
        {"type": "wecom", "name": "wecom", "url": values.get("wecom_url")},
        {
            "type": "dingtalk",
            "name": "dingtalk",
            "url": values.get("dingtalk_url"),
            "secret": values.get("dingtalk_secret"),
        },
        {
            "type": "smtp",
            "name": "email",
            "host": values.get("smtp_host"),
            "port": values.get("smtp_port"),
            "security": values.get("smtp_security"),
            "username": values.get("smtp_username"),
            "password": values.get("smtp_password"),
            "sender": values.get("smtp_sender"),
            "recipients": values.get("smtp_recipients"),
        },
    ]
    specs += [(spec, False) for spec in env_specs]
    config = NotifyConfig(ui_base_url=values.get("ui_base_url") or doc.get("ui_base_url") or "")
    names: set[str] = set()
    for spec, from_file in specs:
        channel = build_channel(spec, retry)
        if channel is None:
            if from_file:  # configured, but a required value (an unset variable?) is empty
                config.skipped.append(str(spec.get("name") or spec.get("type")))
            continue
        if channel.name in names:
            raise ConfigError(f"two notification channels are named {channel.name!r}: give each a distinct name")
        names.add(channel.name)
        config.channels.append(channel)
    return config
