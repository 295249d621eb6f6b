"""Errors the engine understands, and the exit code each one maps to.

Every error carries a `hint`: what the user can do next. The CLI prints
``error: <message>`` and ``hint: <hint>`` and exits with ``exit_code``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_PENDING = 4
EXIT_INTERRUPTED = 130


class RunbookError(Exception):
    """Base of every error the tool reports to a user."""

    exit_code = EXIT_STEP_FAILED

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(RunbookError):
    """Bad input: unknown env, malformed config, wrong account. Nothing was touched."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A configuration value is missing or invalid; names the key and the file."""

    def __init__(self, message: str, *, key: str = "", path: str = "", hint: str = "") -> None:
        where = f" ({key} in {path})" if key and path else (f" ({key})" if key else "")
        super().__init__(f"{message}{where}", hint=hint or f"fix {key or 'the value'} in {path or 'the config file'}")
        self.key = key
        self.path = path


class StateError(UsageError):
    """The state file is corrupt or of an unknown schema version; it is left untouched."""


class LockHeld(RunbookError):
    """Another run holds the state lock."""

    exit_code = EXIT_LOCKED


class TransientError(RunbookError):
    """An error that is worth retrying (throttling, 5xx, resets, eventual consistency).

    Adapters raise it when they *know* an error is transient; the engine's classifier
    also turns matching foreign exceptions into retries.
    """

    def __init__(self, message: str, *, reason: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason or message


class PermanentError(RunbookError):
    """An error that retrying cannot fix; fail at once with the original message."""


class Unavailable(RunbookError):
    """A check could not run here (no credentials, no network, tool missing).

    In dry-run the engine records it as "could not check offline" and carries on;
    in a real run it is a failure with the hint.
    """


class OutputUnknown(Unavailable):
    """An output of an earlier step is not known yet (it has not been applied)."""


class WaitTimeout(PermanentError):
    """A wait reached its deadline; the message names what was still not ready and why."""


class StepTimeout(PermanentError):
    """A step ran past its per-step timeout."""


class Interrupted(RunbookError):
    """Ctrl-C or SIGTERM: the run stopped scheduling and recorded where it was."""

    exit_code = EXIT_INTERRUPTED
