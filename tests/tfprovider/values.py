"""msgpack values of the plugin protocol (object-wire-format.md), with unknowns kept intact.

Terraform 1.11 sends refined unknowns (extension 12, an integer-keyed map); the stand-in keeps
the raw extension so a refined unknown it passes through goes back exactly as it came. Unknowns
it makes itself are plain (extension 0), which Terraform accepts.
"""

from __future__ import annotations

from typing import Any

import msgpack


class Unknown:
    """A value known only after apply (``code``/``data`` of the msgpack extension)."""

    __slots__ = ("code", "data")

    def __init__(self, code: int = 0, data: bytes = b""):
        self.code, self.data = code, data

    def __repr__(self) -> str:
        return "Unknown()"


UNKNOWN = Unknown()


def _ext_hook(code: int, data: bytes) -> Any:
    if code in (0, 12):
        return Unknown(code, data)
    return msgpack.ExtType(code, data)


def _default(value: Any) -> Any:
    if isinstance(value, Unknown):
        return msgpack.ExtType(value.code, value.data)
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(raw: bytes) -> Any:
    if not raw:
        return None
    return msgpack.unpackb(raw, ext_hook=_ext_hook, strict_map_key=False, raw=False)


def encode(value: Any) -> bytes:
    return msgpack.packb(value, default=_default, use_bin_type=True)


def is_known(value: Any) -> bool:
    """True when *value* holds no unknown anywhere inside."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    return True
