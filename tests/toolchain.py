"""Tools the tests need that cannot live in the main virtualenv, provisioned on first use.

checkov pins an old boto3, so it gets its own virtualenv; the Argo CD and External Secrets
CRD validators come from npm. Both are installed once under ``.tools/`` (git-ignored) from
the package registries, so ``python -m pytest`` works on a fresh machine exactly as the
README says; ``.ci/run`` calls :func:`main` first so the cost is paid outside test timeouts.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(os.environ.get("KYEOL_TOOLS_DIR", ROOT / ".tools"))
CHECKOV_VERSION = "3.3.30"
NPM_PACKAGES = {
    "@kubernetes-models/argo-cd": "4.0.0",
    "@kubernetes-models/external-secrets": "2.0.0",
}

# Mermaid's own parser for the run summary's Gantt chart: @mermaid-js/parser (2.x) has no
# Gantt grammar (Gantt is still mermaid's jison parser), so the mermaid package itself runs,
# under jsdom for the DOM it imports. mermaid 11.x: 12.x needs Node >= 22.12; jsdom 26 runs on 20.
MERMAID_PACKAGES = {
    "mermaid": "11.17.2",
    "jsdom": "26.1.0",
}


@contextmanager
def _locked(name: str):
    TOOLS.mkdir(parents=True, exist_ok=True)
    with open(TOOLS / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def checkov_bin() -> Path:
    """Path of a checkov executable in its own virtualenv (created on first call)."""
    venv = TOOLS / "checkov-venv"
    exe = venv / "bin" / "checkov"
    with _locked("checkov"):
        if not exe.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
                check=True,
            )
    return exe


def checkov_env() -> dict[str, str]:
    """Environment that keeps checkov offline and quiet."""
    env = dict(os.environ)
    env.update({"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE", "LOG_LEVEL": "ERROR"})
    return env


def node_modules() -> Path:
    """A node_modules folder holding the CRD validator packages (installed on first call)."""
    prefix = TOOLS / "npm"
    marker = prefix / "node_modules" / ".kyeol-installed"
    with _locked("npm"):
        if not marker.exists():
            if shutil.which("npm") is None:
                raise RuntimeError("npm is required for the CRD schema tests (apt-get install nodejs npm)")
            prefix.mkdir(parents=True, exist_ok=True)
            specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(prefix), *specs],
                check=True,
            )
            marker.write_text("ok\n")
    return prefix / "node_modules"


def mermaid_modules() -> Path:
    """A node_modules folder holding mermaid and jsdom (installed on first call, apart from the
    CRD validators so that either set can be added without reinstalling the other)."""
    prefix = TOOLS / "npm-mermaid"
    marker = prefix / "node_modules" / ".kyeol-installed"
    with _locked("npm-mermaid"):
        if not marker.exists():
            if shutil.which("npm") is None:
                raise RuntimeError("npm is required for the Mermaid check of the run summary (apt-get install nodejs npm)")
            prefix.mkdir(parents=True, exist_ok=True)
            specs = [f"{name}@{version}" for name, version in MERMAID_PACKAGES.items()]
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(prefix), *specs],
                check=True,
            )
            marker.write_text("ok\n")
    return prefix / "node_modules"


def main() -> None:
    print("checkov:", checkov_bin())
    print("node_modules:", node_modules())
    print("mermaid:", mermaid_modules())


if __name__ == "__main__":
    main()
