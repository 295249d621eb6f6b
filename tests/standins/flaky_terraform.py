"""Fault-injecting wrapper of the real ``terraform`` CLI, for retry and chaos tests.

Set ``KYEOL_TERRAFORM`` to ``tests/standins/flaky/terraform``; the real binary is found on
PATH (or ``FLAKY_TERRAFORM_REAL``). ``FLAKY_TERRAFORM`` (JSON) says what fails:

* ``{"first": {"output": 2, "plan": 1}, "counter": "/tmp/x"}`` — the first N calls of each
  subcommand fail, counted in the ``counter`` folder (deterministic unit tests);
* ``{"rate": 0.25, "seed": 7, "counter": "/tmp/x"}`` — every read-only subcommand (init, plan,
  show, output, state list) fails with that probability (chaos tests); ``"mutating": true``
  extends it to apply, where the fault is injected *before* terraform starts (a refused call).

A fault prints what the AWS provider prints when AWS throttles or resets the connection
(``api error ThrottlingException: Rate exceeded``; ``read: connection reset by peer``) and exits
1, before the real terraform runs: a read that failed changed nothing, as with the real thing.
``permanent`` in place of a count fails like AccessDenied instead, every time.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

READ_ONLY = {"init", "plan", "show", "output", "state", "version"}
TRANSIENT = (
    (
        "Error: reading S3 Bucket: operation error S3: HeadBucket, https response error StatusCode: 503, "
        "api error ThrottlingException: Rate exceeded"
    ),
    (
        "Error: Failed to load state: RequestError: send request failed\ncaused by: read tcp 127.0.0.1:1->127.0.0.1:2: "
        "read: connection reset by peer"
    ),
)
PERMANENT = "Error: operation error STS: GetCallerIdentity, api error AccessDenied: User is not authorized"


def _count(counter: Path, name: str) -> int:
    counter.mkdir(parents=True, exist_ok=True)
    path = counter / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 64).decode() or "0"
        n = int(raw) + 1
        os.lseek(fd, 0, 0)
        os.ftruncate(fd, 0)
        os.write(fd, str(n).encode())
        return n
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    settings = json.loads(os.environ.get("FLAKY_TERRAFORM") or "{}")
    command = next((a for a in argv if not a.startswith("-")), "")
    counter = Path(settings.get("counter") or "/tmp/flaky-terraform")
    fail = ""
    first = settings.get("first") or {}
    if command in first:
        n = _count(counter, command)
        wanted = first[command]
        if wanted == "permanent":
            fail = PERMANENT
        elif n <= int(wanted):
            fail = TRANSIENT[n % len(TRANSIENT)]
    rate = float(settings.get("rate") or 0)
    if rate and (command in READ_ONLY - {"version"} or (settings.get("mutating") and command == "apply")):
        n = _count(counter, "all")
        if random.Random(f"{settings.get('seed', 0)}-{n}").random() < rate:
            fail = TRANSIENT[n % len(TRANSIENT)]
    if fail:
        print(fail, file=sys.stderr)
        return 1
    real = os.environ.get("FLAKY_TERRAFORM_REAL") or shutil.which("terraform", path=_path_without_me())
    if not real:
        print("flaky terraform: no real terraform on PATH", file=sys.stderr)
        return 127
    os.execv(real, [real, *argv])
    return 0  # not reached


def _path_without_me() -> str:
    here = str(Path(__file__).resolve().parent / "flaky")
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p).resolve() != Path(here))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
