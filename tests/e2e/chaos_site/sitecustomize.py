"""Test-only: fault injection into kyeol's own AWS calls (the chaos test puts this folder on
the kyeol subprocess's PYTHONPATH; product code has no hook for it).

With ``KYEOL_CHAOS_AWS`` = ``{"rate": 0.25, "seed": 7}`` every HTTP request botocore sends
fails with that probability: half of them before they reach moto (a connection reset), half
after moto carried them out (the answer is lost: a read time-out). botocore's standard retry
mode retries both, as it does against AWS; what outlasts its attempts reaches kyeol's own
retries. botocore.endpoint is patched when it is first imported, so kyeol's start (and its
SIGTERM handler) is not delayed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import random
import sys

_SETTINGS = os.environ.get("KYEOL_CHAOS_AWS")


def _patch(module) -> None:  # type: ignore[no-untyped-def]
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    settings = json.loads(_SETTINGS or "{}")
    rate = float(settings.get("rate") or 0)
    rng = random.Random(f"{settings.get('seed', 0)}-{os.getpid()}")
    original = module.Endpoint._send

    def _send(self, request):  # type: ignore[no-untyped-def]
        roll = rng.random()
        if roll < rate / 2:
            raise ConnectionClosedError(endpoint_url=request.url)
        response = original(self, request)
        if roll < rate:
            raise ReadTimeoutError(endpoint_url=request.url)
        return response

    module.Endpoint._send = _send


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != "botocore.endpoint":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        execute = loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            execute(module)
            _patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _SETTINGS:
    sys.meta_path.insert(0, _Finder())
