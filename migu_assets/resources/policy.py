"""The versioned policy file as a Dagster resource (SPEC §10)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg
from pydantic import Field

from migu_assets.policy import Policy, PolicyBook, load_policy_book, policy_dir


@cache
def _book(folder: str) -> PolicyBook:
    return load_policy_book(folder)


class PolicyResource(dg.ConfigurableResource):
    """The policy versions; a month is computed with the version in force on its first day."""

    directory: str = Field("", description="Folder of policy *.yaml files; empty = the shipped policy")

    def book(self) -> PolicyBook:
        """The versions in ``directory``, else ``MIGU_POLICY_DIR``, else the shipped folder (resolved per call)."""
        return _book(str(policy_dir(self.directory or None)))

    def for_month(self, month: dt.date) -> Policy:
        return self.book().for_month(month)
