"""Provenance of every output row: the policy version and Dagster run that made it, and the code version of the
asset that computed it (its compute module, the rules package and the policy files in use)."""

import hashlib
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path

from migu_assets import rules as rules_package
from migu_assets.policy import policy_dir


def with_provenance(rows: Sequence[Mapping], policy_version: str, run_id: str) -> list[dict]:
    """Each row stamped with the policy version it was computed under and the Dagster run that wrote it."""
    return [{**row, "policy_version": policy_version, "run_id": run_id} for row in rows]


def _source(obj: object) -> bytes:
    return inspect.getsource(obj).encode()


def _rules_source() -> bytes:
    folder = Path(rules_package.__file__).parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob("*.py")))


def policy_fingerprint(directory: str | Path | None = None) -> bytes:
    """The bytes of every policy file a run would read (``MIGU_POLICY_DIR`` or the shipped folder)."""
    return b"".join(p.name.encode() + p.read_bytes() for p in sorted(policy_dir(directory).glob("*.yaml")))


def code_version(*parts: object, policy_directory: str | Path | None = None) -> str:
    """A short hash of the given modules/functions' source, the rules package and the policy files in use."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(_source(part))
    digest.update(_rules_source())
    digest.update(policy_fingerprint(policy_directory))
    return digest.hexdigest()[:16]
