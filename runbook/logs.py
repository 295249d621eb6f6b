"""Structured logs: JSON lines for machines (CI, files), a readable console view for people.

Every line passes the run's :class:`~runbook.redact.Redactor` last, after tracebacks are
rendered to text, so no registered secret reaches the stream in any field, event or
exception. Fields bound on a logger (``run_id``, ``env``, ``step``, ``attempt``) appear on
every line it writes. Warnings of third-party libraries (``logging``) take the same path.

``configure_logging`` may be called again at any time (tests do); it replaces the previous
set-up instead of stacking on it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, ClassVar, TextIO

from runbook.redact import Redactor

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS = ("auto", "json", "console")


def _structlog() -> Any:
    """structlog, imported without rich/better_exceptions (which it would pull in for pretty
    tracebacks that we do not use): this halves its import time."""
    if "structlog" in sys.modules:
        return sys.modules["structlog"]
    blocked = [name for name in ("rich", "better_exceptions") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # None in sys.modules makes `import name` fail fast
    try:
        import structlog
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return structlog


def resolve_format(fmt: str, stream: TextIO) -> str:
    """auto → console at an interactive terminal, JSON lines in CI or when piped."""
    if fmt not in FORMATS:
        from runbook.errors import UsageError

        raise UsageError(f"unknown log format {fmt!r}", hint="use json, console or auto")
    if fmt != "auto":
        return fmt
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    return "console" if interactive and not os.environ.get("CI") else "json"


def _plain(value: Any) -> Any:
    """A value as JSON can carry it; anything else as its text (so it can be redacted)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


class RedactingProcessor:
    """Masks every registered secret in every field of an event, the event text included."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        return {key: self.redactor.redact_obj(_plain(value)) for key, value in event_dict.items()}


class _ToStructlog(logging.Handler):
    """Sends stdlib ``logging`` records (HTTP clients, SDKs, …) through the structlog pipeline."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = _structlog().get_logger().bind(logger=record.name)
            fields: dict[str, Any] = {}
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            level = record.levelname.lower()
            getattr(logger, level if level in LEVELS else "warning")(record.getMessage(), **fields)
        except Exception:  # noqa: BLE001 - logging must never raise into the program
            self.handleError(record)


class _LogStream:
    """The file structlog writes to: the stream itself, or — while a live terminal view is drawn —
    the view's console, which prints each line above the live region instead of through it."""

    # Where log lines go while a live view is drawn (set by :func:`route_console`); None: the stream.
    # One for the process, like the terminal it stands for.
    route: ClassVar[Callable[[str], None] | None] = None

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        route = _LogStream.route
        if route is not None:
            route(text)
        else:
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        if _LogStream.route is None:
            self.stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())


def route_console(sink: Callable[[str], None]) -> Callable[[], None]:
    """Send every log line to ``sink`` (a live view's console) until the returned function is called."""
    _LogStream.route = sink

    def restore() -> None:
        if _LogStream.route is sink:
            _LogStream.route = None

    return restore


def configure_logging(
    fmt: str = "auto",
    redactor: Redactor | None = None,
    stream: TextIO | None = None,
    level: str = "info",
) -> str:
    """Set up structlog for this process; returns the format chosen (``json`` or ``console``)."""
    structlog = _structlog()
    stream = stream if stream is not None else sys.stderr
    chosen = resolve_format(fmt, stream)
    if level not in LEVELS:
        from runbook.errors import UsageError

        raise UsageError(f"unknown log level {level!r}", hint=f"use one of {', '.join(LEVELS)}")
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,  # tracebacks become text before redaction
        RedactingProcessor(redactor if redactor is not None else Redactor()),
    ]
    if chosen == "json":
        processors.append(structlog.processors.JSONRenderer())
    else:
        colors = bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
        processors.append(structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(file=_LogStream(stream)),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging()
    return chosen


def _route_stdlib_logging() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _ToStructlog)]:
        root.removeHandler(handler)
    handler = _ToStructlog(level=logging.WARNING)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)


def get_logger(**bind: Any) -> Any:
    """A structlog logger with ``bind`` fields on every line it writes."""
    return _structlog().get_logger().bind(**bind)
