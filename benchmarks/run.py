"""Run every benchmark and print one table: ``python -m benchmarks.run [--quick]``.

Numbers depend on the machine and its load; the ratios (wall ÷ critical path) much less so.
Record the numbers of a quiet machine in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

from benchmarks import critical_path, full_platform, noop_redeploy, startup

CRITICAL_TARGET = 1.05
NOOP_TARGET_MS = 1000.0


def _row(name: str, measured: str, target: str, ok: bool) -> str:
    return f"{name:<34} {measured:<44} {target:<14} {'ok' if ok else 'MISSED'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ms-per-minute", type=float, default=100.0, help="1 real minute → this many ms (default 100)")
    parser.add_argument("--repeats", type=int, default=20, help="no-op re-deploys to time (default 20)")
    parser.add_argument("--startup-runs", type=int, default=7, help="processes per start-up measurement (default 7)")
    parser.add_argument("--quick", action="store_true", help="tiny scale: 5 ms per minute, 3 repeats, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.ms_per_minute, args.repeats, args.startup_runs = 5.0, 3, 3

    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}; "
        f"1 min of reality = {args.ms_per_minute:g} ms"
    )
    missed = 0
    lines: list[str] = [_row("benchmark", "measured", "target", True).replace(" ok", "   "), "-" * 100]

    results = [critical_path.measure(args.ms_per_minute, multi_az=m) for m in (False, True)]
    for r in results:
        ok = r.over_critical <= CRITICAL_TARGET
        missed += not ok
        lines.append(
            _row(
                f"deploy dev, {r.variant}",
                f"{r.wall_s:.3f} s = {r.over_critical:.3f}× CP, {r.over_sum:.2f}× sum",
                f"≤ {CRITICAL_TARGET}× CP",
                ok,
            )
        )
    plat = full_platform.measure(args.ms_per_minute)
    needed = plat.needed_parallelism or plat.best
    for p in sorted(plat.walls):
        # The target is the engine's: at the parallelism the graph needs, and above it.
        judged = p >= needed
        ok = plat.ratio(p) <= CRITICAL_TARGET if judged else True
        missed += not ok
        lines.append(
            _row(
                f"platform (--env all), parallelism {p}",
                f"{plat.walls[p]:.3f} s = {plat.ratio(p):.3f}× CP, slots allow {plat.ideal[p] / plat.critical_s:.3f}×",
                f"≤ {CRITICAL_TARGET}× CP" if judged else "(too few slots)",
                ok,
            )
        )
    lines.append(
        _row(
            "platform, 3 runs one after another",
            f"{plat.sequential_s:.3f} s = {plat.sequential_s / plat.critical_s:.2f}× CP of the one run",
            "–",
            True,
        )
    )
    noop = noop_redeploy.measure(args.repeats)
    for label, median, samples in (
        ("no-op re-deploy, engine", noop.engine_median_ms, noop.engine_ms),
        ("no-op re-deploy, whole command", noop.command_median_ms, noop.command_ms),
    ):
        ok = median < NOOP_TARGET_MS
        missed += not ok
        lines.append(_row(label, f"{median:.1f} ms median (max {max(samples):.1f}, n={len(samples)})", "< 1000 ms", ok))
    starts = startup.measure(args.startup_runs)
    for s in starts:
        ok = s.median_s < startup.TARGET_S and not s.heavy_imported
        missed += not ok
        heavy = ", ".join(s.heavy_imported) or "no cloud SDK"
        lines.append(_row(s.command, f"{s.median_s:.3f} s median (min {min(s.seconds):.3f}); {heavy}", "< 0.3 s", ok))
    print("\n".join(lines))

    print("\ncritical paths (graph from " + results[0].source + "):")
    for r in results:
        print(f"  {r.variant:<14} {r.critical_minutes:5.1f} min: {' → '.join(r.path)}")
        print(
            f"  {'':<14} sum of steps {r.sum_minutes:5.1f} min; wall {r.wall_s - r.critical_s:+.3f} s over the "
            f"critical path; {r.peak_parallel} steps at once at most; {r.checkpoints} fsync'd checkpoints"
        )
    print(
        f"\nplatform (MGMT + {', '.join(full_platform.PLATFORM_ENVS)}, Multi-AZ RDS for stage/prod): critical path "
        f"{plat.minutes(plat.critical_s):.1f} min: {' → '.join(plat.path)}"
    )
    print(
        f"  sum of steps {plat.minutes(plat.sum_s):.1f} min; three runs one after another "
        f"{plat.minutes(plat.sequential_s):.1f} min-equivalent ({', '.join(f'{w:.3f}' for w in plat.sequential_runs)} s)"
    )
    print(
        "  schedule the slots allow, by parallelism: "
        + ", ".join(f"{p}: {plat.minutes(v):.1f}" for p, v in sorted(plat.ideal.items()) if p <= 8)
        + f" min; the critical path needs --parallelism {needed}"
    )
    print(f"\nno-op re-deploy: {noop.steps} steps checked, {noop.checkpoints_per_run:g} checkpoints written per run")
    for s in starts:
        slow = ", ".join(f"{name} {ms:.0f} ms" for name, ms in s.slowest_imports)
        print(f"{s.command}: slowest imports {slow}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
