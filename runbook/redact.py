"""Redaction of known secret values from every line the tool writes.

Secrets are registered as they become known (tokens from the environment, generated
passwords, presigned tokens); every log line, subprocess line and report passes here.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"
# Values shorter than this are not registered: masking "a" or "1" would destroy output.
MIN_SECRET_LEN = 6

# Shapes that are secret wherever they appear, known or not. Products add their own
# (cloud key ids, cluster tokens) with :meth:`Redactor.add_pattern`.
_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|token|basic)\s+)\S+"),
]


class Redactor:
    """Masks every registered secret value and every secret-shaped string."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._regex: re.Pattern[str] | None = None
        self._patterns: list[re.Pattern[str]] = list(_PATTERNS)

    def add_pattern(self, pattern: str | re.Pattern[str]) -> None:
        """Mask every match of ``pattern`` (with up to two groups kept as a prefix)."""
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        with self._lock:
            if compiled.pattern not in {p.pattern for p in self._patterns}:
                self._patterns.append(compiled)

    def add(self, value: str | None) -> None:
        if not value or len(value) < MIN_SECRET_LEN:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._regex = None

    def __len__(self) -> int:
        return len(self._values)

    def __bool__(self) -> bool:
        # An empty redactor is still *the* redactor: `redactor or Redactor()` must keep it.
        return True

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._regex is None and self._values:
                alternatives = sorted(self._values, key=len, reverse=True)
                self._regex = re.compile("|".join(re.escape(v) for v in alternatives))
            return self._regex

    def redact(self, text: str) -> str:
        if not text:
            return text
        regex = self._compiled()
        if regex is not None:
            text = regex.sub(MASK, text)
        for pattern in list(self._patterns):
            if pattern.groups >= 2:
                text = pattern.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
            elif pattern.groups == 1:
                text = pattern.sub(lambda m: m.group(1) + MASK, text)
            else:
                text = pattern.sub(MASK, text)
        return text

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like structure (dicts, lists, strings)."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            return {k: self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.redact_obj(v) for v in obj]
        return obj
