"""The little the stand-in must remember between provider processes: what was written to
Secrets Manager, so that ``data "aws_secretsmanager_secret_version"`` reads back what a
``aws_secretsmanager_secret_version`` wrote (write-only ``secret_string_wo`` included: the
provider sends it to AWS at apply, Terraform just never stores it). One file per secret under
``$TFPROVIDER_HOME/world`` (processes of parallel roots never write the same file).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def _folder() -> Path:
    folder = Path(os.environ.get("TFPROVIDER_HOME", ".")) / "world" / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file(secret_id: str) -> Path:
    return _folder() / (hashlib.sha256(secret_id.encode()).hexdigest() + ".json")


def record_apply(tf_type: str, config: dict[str, Any] | None, new_state: dict[str, Any] | None) -> None:
    if tf_type != "aws_secretsmanager_secret_version" or not config or not new_state:
        return
    value = config.get("secret_string_wo") or config.get("secret_string")
    secret_id = new_state.get("secret_id")
    if isinstance(value, str) and isinstance(secret_id, str):
        _file(secret_id).write_text(json.dumps({"secret_string": value, "version_id": new_state.get("version_id")}))


def secret(secret_id: Any) -> dict[str, Any] | None:
    """What was last written to *secret_id* (None when nothing was)."""
    if not isinstance(secret_id, str) or not _file(secret_id).exists():
        return None
    return json.loads(_file(secret_id).read_text())
