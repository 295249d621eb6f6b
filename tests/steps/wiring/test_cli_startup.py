"""`kyeol --help` starts in under 0.3 s (issue 16's acceptance; benchmarks/startup.py measures the
median and what each command imports). The layout, the typed boto3 clients and the checks must not
make the CLI's start-up pay for what only a deploy needs."""

from __future__ import annotations

import subprocess
import time

from benchmarks.graph import ROOT
from benchmarks.startup import HEAVY, STUBS, TARGET_S, _env, imported_modules, kyeol_argv


def test_kyeol_help_starts_in_under_three_tenths_of_a_second() -> None:
    # The fastest of several new processes: what the code costs, not what a loaded CI machine adds
    # to one of them (a median here would measure the neighbours).
    seconds = []
    for _ in range(7):
        t0 = time.perf_counter()
        done = subprocess.run([*kyeol_argv(), "--help"], cwd=ROOT, env=_env(), capture_output=True, timeout=60, check=False)
        seconds.append(time.perf_counter() - t0)
        assert done.returncode == 0 and b"Usage: kyeol" in done.stdout, done.stderr[-500:]
    assert min(seconds) < TARGET_S, f"kyeol --help took {min(seconds):.3f} s at best of {len(seconds)} (target {TARGET_S} s)"


def test_kyeol_help_imports_no_cloud_sdk_and_no_type_stub() -> None:
    unwanted, slowest = imported_modules(["--help"])
    assert slowest  # the parse read real import lines
    assert unwanted == [], f"kyeol --help imported {unwanted} (none of {HEAVY} or {STUBS} may load)"
