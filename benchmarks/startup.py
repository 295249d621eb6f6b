"""How fast the CLI answers, as a person would run it: new processes, median of N.

``kyeol --help``, ``kyeol --version`` and ``kyeol status`` (on a checkpoint of a finished dev deployment) must
answer in under 0.3 s, so they must not import the cloud SDKs: boto3/botocore and the
kubernetes client are imported only inside the commands that talk to AWS or a cluster.
``python -X importtime`` shows what each command really imported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.graph import ROOT, kyeol_dev_graph, minutes
from benchmarks.standins import CountingStore, quiet_logging, run_engine, sleep_steps

HEAVY = ("boto3", "botocore", "kubernetes", "urllib3", "s3transfer")
# Type stubs are for the checker only (steps/adapters/aws.py imports them under TYPE_CHECKING).
STUBS = ("mypy_boto3_", "botocore_stubs", "types_")
TARGET_S = 0.3


@dataclass
class StartupResult:
    command: str
    runs: int
    seconds: list[float]
    heavy_imported: list[str]
    slowest_imports: list[tuple[str, float]] = field(default_factory=list)  # (module, cumulative ms)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


def kyeol_argv() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m steps.wiring.cli``."""
    script = Path(sys.executable).with_name("kyeol")
    return [str(script)] if script.exists() else [sys.executable, "-m", "steps.wiring.cli"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYEOL_")}
    env["CI"] = "1"
    return env


def imported_modules(args: list[str]) -> tuple[list[str], list[tuple[str, float]]]:
    """The cloud SDKs and type stubs a command imported (from ``-X importtime``), and its slowest imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "steps.wiring.cli", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    names: set[str] = set()
    cumulative: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not cum.isdigit():
            continue
        names.add(name.split(".")[0])
        if not line.split("|")[2].startswith("  "):  # imported by the program, not by another module
            cumulative.append((name, int(cum) / 1000))
    cumulative.sort(key=lambda item: -item[1])
    return sorted(n for n in names if n in HEAVY or n.startswith(STUBS)), cumulative[:4]


def measure(runs: int = 7) -> list[StartupResult]:
    with tempfile.TemporaryDirectory(prefix="kyeol-bench-") as folder:
        state = Path(folder) / "state.json"
        world: dict[str, str] = {}
        steps = sleep_steps(kyeol_dev_graph(), dict.fromkeys(minutes(), 0.0), world)
        run_engine(steps, CountingStore(state), run_id="bench-deployed", logging=quiet_logging())
        commands = {
            "kyeol --help": ["--help"],
            "kyeol --version": ["--version"],
            "kyeol status": ["status", "--state", str(state)],
        }
        results = []
        for label, args in commands.items():
            seconds = []
            for _ in range(runs):
                t0 = time.perf_counter()
                done = subprocess.run([*kyeol_argv(), *args], cwd=ROOT, env=_env(), capture_output=True, timeout=60)
                seconds.append(time.perf_counter() - t0)
                if done.returncode != 0:
                    raise RuntimeError(f"{label} exited {done.returncode}: {done.stderr.decode()[-500:]}")
            heavy, slowest = imported_modules(args)
            results.append(StartupResult(label, runs, seconds, heavy, slowest))
    return results
