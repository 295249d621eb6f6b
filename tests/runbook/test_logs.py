"""Logs: JSON lines or a console view, bound run fields on every line, secrets never written."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from runbook.errors import UsageError
from runbook.logs import configure_logging, get_logger, resolve_format
from runbook.redact import Redactor

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Pa55word-for-tests"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    import structlog

    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if type(h).__name__ == "_ToStructlog"]:
        root.removeHandler(handler)


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_level_utc_timestamp_and_the_bound_run_fields() -> None:
    out = io.StringIO()
    assert configure_logging("json", Redactor(), stream=out) == "json"
    log = get_logger(run_id="run-7", env="dev").bind(step="dev.infra", attempt=2)
    log.info("waiting", what="EKS cluster ACTIVE")
    (line,) = json_lines(out)
    assert line["event"] == "waiting" and line["level"] == "info" and line["what"] == "EKS cluster ACTIVE"
    assert (line["run_id"], line["env"], line["step"], line["attempt"]) == ("run-7", "dev", "dev.infra", 2)
    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0


def test_a_registered_secret_never_appears_in_any_field_event_or_traceback() -> None:
    out = io.StringIO()
    redactor = Redactor()
    redactor.add_pattern(r"AKIA[0-9A-Z]{16}")  # a product's secret shape
    configure_logging("json", redactor, stream=out)
    redactor.add(SECRET)  # registered after set-up, as steps do when a secret becomes known

    class Opaque:
        def __str__(self) -> str:
            return f"<conn password={SECRET}>"

    log = get_logger(run_id="r")
    log.info(f"connecting with {SECRET}", nested={"list": [f"x{SECRET}y"], "n": 3}, obj=Opaque())
    try:
        raise RuntimeError(f"login failed for {SECRET}")
    except RuntimeError:
        log.exception("step failed")
    log.error("again", exc_info=ValueError(f"bad {SECRET}"))
    log.warning("aws key", key="AKIAIOSFODNN7EXAMPLE")  # secret-shaped: masked without registering
    text = out.getvalue()
    assert SECRET not in text and "AKIAIOSFODNN7EXAMPLE" not in text
    lines = json_lines(out)
    assert lines[0]["event"] == "connecting with ***"
    assert lines[0]["nested"] == {"list": ["x***y"], "n": 3} and lines[0]["obj"] == "<conn password=***>"
    assert "RuntimeError: login failed for ***" in lines[1]["exception"]
    assert "ValueError: bad ***" in lines[2]["exception"]
    assert lines[3]["key"] == "***"


def test_console_rendering_is_readable_text_with_colours_only_on_a_terminal() -> None:
    plain = io.StringIO()
    assert configure_logging("console", Redactor(), stream=plain) == "console"
    get_logger(run_id="run-7").info("step finished", step="argocd", status="done")
    text = plain.getvalue()
    assert "step finished" in text and "step=argocd" in text and "run_id=run-7" in text
    assert "\x1b[" not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    tty = Terminal()
    configure_logging("console", Redactor(), stream=tty)
    get_logger().info("coloured")
    assert "\x1b[" in tty.getvalue()


def test_console_rendering_redacts_too() -> None:
    out = io.StringIO()
    redactor = Redactor()
    redactor.add(SECRET)
    configure_logging("console", redactor, stream=out)
    try:
        raise KeyError(SECRET)
    except KeyError:
        get_logger().exception(f"boom {SECRET}", detail=SECRET)
    assert SECRET not in out.getvalue() and "boom ***" in out.getvalue()


def test_auto_is_console_at_a_terminal_and_json_in_ci_or_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert resolve_format("auto", Terminal()) == "console"
    assert resolve_format("auto", io.StringIO()) == "json"
    monkeypatch.setenv("CI", "true")
    assert resolve_format("auto", Terminal()) == "json"
    assert resolve_format("console", io.StringIO()) == "console"
    with pytest.raises(UsageError, match="unknown log format 'xml'"):
        resolve_format("xml", io.StringIO())
    with pytest.raises(UsageError, match="unknown log level"):
        configure_logging("json", stream=io.StringIO(), level="chatty")


def test_levels_below_the_threshold_are_dropped() -> None:
    out = io.StringIO()
    configure_logging("json", stream=out, level="warning")
    log = get_logger()
    log.debug("d")
    log.info("i")
    log.warning("w")
    assert [line["event"] for line in json_lines(out)] == ["w"]


def test_configuring_twice_replaces_the_first_set_up() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", stream=first)
    configure_logging("console", stream=second)
    get_logger().info("only once")
    logging.getLogger("botocore.credentials").warning("from a library")
    assert first.getvalue() == ""
    assert second.getvalue().count("only once") == 1 and second.getvalue().count("from a library") == 1
    handlers = [h for h in logging.getLogger().handlers if type(h).__name__ == "_ToStructlog"]
    assert len(handlers) == 1


def test_library_warnings_pass_through_the_same_redacting_pipeline() -> None:
    out = io.StringIO()
    redactor = Redactor()
    redactor.add(SECRET)
    configure_logging("json", redactor, stream=out)
    logging.getLogger("urllib3.connectionpool").warning("retrying https://x/?token=%s", SECRET)
    logging.getLogger("urllib3.connectionpool").info("chatter below warning is not shown")
    (line,) = json_lines(out)
    assert line["logger"] == "urllib3.connectionpool" and line["level"] == "warning"
    assert line["event"] == "retrying https://x/?token=***"


def test_setting_up_logs_does_not_import_rich_and_leaves_it_importable() -> None:
    code = (
        "import sys, io; sys.path.insert(0, sys.argv[1])\n"
        "from runbook.logs import configure_logging, get_logger\n"
        "configure_logging('console', stream=io.StringIO()); get_logger().info('x')\n"
        "print('rich' in sys.modules)\n"
        "import rich.console; print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "ok"]
