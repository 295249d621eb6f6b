"""Who this engine is running as: the product's name and version, for documents and hints.

Its own module because both the checkpoint (``state``) and the lock (``lock``) name the tool,
and the state store holds a lock: with the name here, ``state`` imports ``lock`` and neither
imports the other back.
"""

from __future__ import annotations

import functools

from runbook import __version__


@functools.lru_cache(maxsize=1)
def default_tool() -> str:
    """``"<distribution> <version>"`` of the program this engine is part of (e.g. the CLI's).

    Looked up from the installed distribution that ships this package, so the engine names
    the product without knowing it; ``runbook <version>`` when run from a bare source tree.
    """
    try:
        from importlib import metadata

        names = metadata.packages_distributions().get(__name__.split(".")[0]) or []
        if names:
            return f"{names[0]} {metadata.version(names[0])}"
    except Exception:  # noqa: BLE001 - a name for messages must never break a run
        return f"runbook {__version__}"
    return f"runbook {__version__}"


def tool_command() -> str:
    """The command a user types to run this tool (for hints such as ``<tool> unlock --force``)."""
    return default_tool().split(" ", 1)[0]
