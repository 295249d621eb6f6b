"""The project's own checks stay honest: every suppression in the product code says which rule
it silences and why, and the pre-commit hooks run what CI runs (issue 16)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("runbook", "steps")

# A suppression is `noqa: CODE[, CODE] - reason` or `type: ignore[code]  # reason` (mypy reads a
# second comment after its own, not free text): the rule's code, then words that say why.
SUPPRESSION = re.compile(r"#\s*(noqa|type:\s*ignore)\b(?P<rest>.*)$")
WITH_REASON = re.compile(r"^(?::\s*[A-Z]+[0-9]+(?:,\s*[A-Z]+[0-9]+)*|\[[a-z-]+(?:,\s*[a-z-]+)*\])\s+[-#]\s+\w.{5,}")


def suppressions_without_reason(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = SUPPRESSION.search(line)
            if match and not WITH_REASON.match(match["rest"]):
                found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}: {line.strip()}")
    return found


def test_every_suppression_in_the_product_names_its_rule_and_says_why() -> None:
    files = [path for package in PRODUCT for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 40  # the walk found the packages
    assert suppressions_without_reason(files) == []


def test_a_bare_or_unexplained_suppression_is_found(tmp_path: Path) -> None:
    planted = tmp_path / "m.py"
    planted.write_text(
        "a = 1  # noqa\n"
        "b = 2  # noqa: E501\n"
        "c = 3  # type: ignore\n"
        "d = 4  # type: ignore[assignment]\n"
        "e = 5  # noqa: S105 - the annotation's name, not a secret\n"
        "f = 6  # type: ignore[assignment]  # None in sys.modules blocks an import\n",
        encoding="utf-8",
    )
    assert [line.split(": ", 1)[1] for line in suppressions_without_reason([planted])] == [
        "a = 1  # noqa",
        "b = 2  # noqa: E501",
        "c = 3  # type: ignore",
        "d = 4  # type: ignore[assignment]",
    ]


ONE_LINE_ENTRY = re.compile(r'^"[^"]+"\s*=\s*\[.*\]\s*$')


def unexplained_ignores(text: str) -> list[str]:
    """Rule codes in the ruff `ignore` arrays (global and per-file) with no comment right above them.

    Inside an array, a line of codes must follow a comment line or another line of codes: a blank
    line ends an explanation, so a code added after it needs its own reason.
    """
    found, previous, inside = [], "", False
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r'^(ignore|"[^"]+")\s*=\s*\[\s*$', stripped):
            inside, previous = True, "["
            continue
        if ONE_LINE_ENTRY.match(stripped) and not (previous.startswith("#") or ONE_LINE_ENTRY.match(previous)):
            found.append(stripped)  # one-line per-file entries: their reason is the comment above them
        if inside and stripped == "]":
            inside = False
        elif inside and stripped and not stripped.startswith("#") and not (previous.startswith("#") or previous.endswith(",")):
            found.append(stripped)
        previous = stripped
    return found


def test_every_ruff_rule_turned_off_has_its_reason_above_it() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config = tomllib.loads(text)["tool"]["ruff"]["lint"]
    assert config["ignore"] and config["per-file-ignores"]  # the check reads a real configuration
    assert unexplained_ignores(text) == []


def test_a_rule_turned_off_without_a_reason_is_found() -> None:
    planted = """[tool.ruff.lint]
ignore = [
  # Reason one.
  "E501", "E502",
  "E503",

  "E504",
]
[tool.ruff.lint.per-file-ignores]
# Stand-ins name their methods after the protocol.
"tests/a.py" = ["N802"]
"tests/c.py" = ["N802"]

"tests/b.py" = ["E402"]
"""
    assert unexplained_ignores(planted) == ['"E504",', '"tests/b.py" = ["E402"]']


def test_pre_commit_runs_the_checks_ci_runs() -> None:
    hooks = [hook for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"] for hook in repo["hooks"]]
    entries = {
        hook["entry"].split()[0] + (" " + hook["entry"].split()[1] if hook["entry"].startswith("ruff") else "") for hook in hooks
    }
    assert entries == {"ruff check", "ruff format", "mypy", "lint-imports"}
    assert all(hook["language"] == "system" for hook in hooks)  # the pinned tools in .venv, no download
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("ruff check --no-fix .", "ruff format --check .", "\nmypy\n", "\nlint-imports\n"):
        assert command in ci, f".ci/run does not run {command.strip()}"
