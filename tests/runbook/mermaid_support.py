"""Run mermaid itself (npm, under jsdom; tests/toolchain.py installs it) on a diagram."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def mermaid(text: str) -> dict[str, Any]:
    """What mermaid 11 makes of ``text`` (its parser and its Gantt db)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    from tests.toolchain import mermaid_modules

    prefix = mermaid_modules().parent
    # ES modules resolve packages from the script's own folder (NODE_PATH is ignored): run a copy there.
    script = prefix / "mermaid_check.mjs"
    if not script.is_file() or script.read_bytes() != (HERE / "mermaid_check.mjs").read_bytes():
        tmp = prefix / f".mermaid_check.{os.getpid()}.mjs"
        shutil.copyfile(HERE / "mermaid_check.mjs", tmp)
        os.replace(tmp, script)
    done = subprocess.run(["node", str(script)], input=text, capture_output=True, text=True, timeout=120, cwd=prefix)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
