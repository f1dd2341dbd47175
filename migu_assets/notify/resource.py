"""``NotifierResource``: the notification configuration inside Dagster, secrets through ``dg.EnvVar``."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from migu_assets.notify.config import ENV_VARS, NotifyConfig, load_config


class NotifierResource(dg.ConfigurableResource):
    """Where alerts go. Every field is optional; an empty one enables nothing (no channel by default).

    ``config_file`` names a YAML file (``notify.example.yaml``) that can hold several channels; the other fields
    configure one channel of each kind directly. :func:`notifier_from_env` fills them with ``dg.EnvVar``.
    """

    config_file: str = Field("", description="YAML notification config (MIGU_NOTIFY_CONFIG)")
    ui_base_url: str = Field("", description="Dagster UI base URL for links, e.g. https://dagster.example.com")
    webhook_url: str = Field("", description="Generic JSON webhook URL")
    webhook_secret: str = Field("", description="HMAC-SHA256 key for X-Migu-Signature (optional)")
    wecom_url: str = Field("", description="企业微信群机器人 webhook URL (…/cgi-bin/webhook/send?key=…)")
    dingtalk_url: str = Field("", description="钉钉自定义机器人 webhook URL (…/robot/send?access_token=…)")
    dingtalk_secret: str = Field("", description="钉钉加签 secret (optional)")
    smtp_host: str = Field("", description="SMTP server")
    smtp_port: str = Field("", description="SMTP port (default 587 starttls / 465 ssl)")
    smtp_security: str = Field("", description="starttls | ssl | none")
    smtp_username: str = Field("", description="SMTP login (optional)")
    smtp_password: str = Field("", description="SMTP password (optional)")
    smtp_sender: str = Field("", description="From address")
    smtp_recipients: str = Field("", description="To addresses, comma-separated")

    retries: int = Field(3, description="Tries per delivery on HTTP 5xx/429, timeouts, SMTP 4xx")
    backoff_seconds: float = Field(1.0, description="Wait before the 2nd try; doubled before each later one")
    timeout_seconds: float = Field(5.0, description="Per HTTP request / SMTP connection")

    def load(self) -> NotifyConfig:
        values = {key: getattr(self, key) for key in ENV_VARS}
        values.update(retries=self.retries, backoff_seconds=self.backoff_seconds, timeout_seconds=self.timeout_seconds)
        return load_config(values)


def notifier_from_env() -> NotifierResource:
    """The resource with ``dg.EnvVar`` for every ``MIGU_NOTIFY_*`` variable set now (secrets never in plain config)."""
    return NotifierResource(**{key: dg.EnvVar(var) for key, var in ENV_VARS.items() if os.environ.get(var)})
