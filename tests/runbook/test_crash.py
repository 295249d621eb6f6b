"""Crash safety, end to end: a real process running the real engine is killed, then resumed.

The project is ``tests/runbook/crashproject.py`` (six steps, two branches, a side-effect file).
After every kill the checkpoint and its ``.bak`` must parse; ``resume`` must finish the run;
and the side-effect file must show every step applied once — the step that was cut off in
the middle of its apply included, because ``resume`` re-checks it instead of trusting
"running". The one step whose effect cannot be observed (``right.count``) shows the limit
honestly: applied once, unless the kill hit its own apply, then once more.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.runbook import crashproject as cp

pytestmark = pytest.mark.slow

IDEMPOTENT = [sid for sid, _, _ in cp.GRAPH if sid != cp.COUNTER]
ALL_STEPS = [sid for sid, _, _ in cp.GRAPH]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "proj"
    d.mkdir()
    return d


def assert_checkpoint_parses(directory: Path, *, backup_expected: bool = True) -> dict[str, Any]:
    """The state file and its backup are whole JSON documents of the current schema.

    The backup exists from the second checkpoint on; a kill right after the very first one
    (possible only in the random-delay loop) may find none yet.
    """
    doc = cp.read_state(directory)
    assert doc is not None, "a run that got going must have written its checkpoint"
    assert doc["schema_version"] == 1 and isinstance(doc["steps"], dict)
    backup = cp.read_state(directory, cp.STATE + ".bak")
    assert backup is not None or not backup_expected, "every checkpoint after the first keeps a backup"
    if backup is not None:
        assert backup["schema_version"] == 1 and isinstance(backup["steps"], dict)
    return doc


def effect_counts(directory: Path) -> collections.Counter[str]:
    return collections.Counter(sid for sid, _ in cp.read_effects(directory))


def kill9(proc: Any) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


def lock_holder_pid(directory: Path) -> int | None:
    path = directory / (cp.STATE + ".lock")
    return json.loads(path.read_text())["pid"] if path.exists() else None


def resume_to_the_end(directory: Path, **env: str) -> cp.Finished:
    done = cp.run(directory, "resume", **env)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = assert_checkpoint_parses(directory)
    assert doc["last_run"]["command"] == "resume" and doc["last_run"]["status"] == "ok"
    assert {sid: rec["status"] for sid, rec in doc["steps"].items()} == dict.fromkeys(ALL_STEPS, "done")
    return done


def outcome(report_dir: Path, run_id: str, step_id: str) -> str:
    report = json.loads((report_dir / f"{run_id}.json").read_text())
    return next(s["outcome"] for s in report["steps"] if s["id"] == step_id)


# -- kill -9 between steps ----------------------------------------------------------------


@pytest.mark.parametrize("after", ["seed", "right.build", "left.ship"])
def test_sigkill_right_after_a_step_then_resume_applies_each_step_once(workdir: Path, after: str) -> None:
    proc = cp.start(workdir, "deploy", CRASH_STEP_S="0.25")
    cp.wait_until(lambda: after in effect_counts(workdir), proc=proc, what=f"the {after} effect")
    kill9(proc)

    doc = assert_checkpoint_parses(workdir)
    assert doc["last_run"]["status"] == "running", "the kill must have cut the run short"
    assert any(doc["steps"].get(sid, {}).get("status") != "done" for sid in ALL_STEPS)
    assert lock_holder_pid(workdir) == proc.pid, "a killed run leaves its lock behind"
    counter_was_done = doc["steps"].get(cp.COUNTER, {}).get("status") == "done"
    counted_before = effect_counts(workdir)[cp.COUNTER]

    resume_to_the_end(workdir)  # takes over the dead run's lock by itself

    counts = effect_counts(workdir)
    assert {sid: counts[sid] for sid in IDEMPOTENT} == dict.fromkeys(IDEMPOTENT, 1)
    # The unobservable step: once; again only if the kill hit its own apply.
    assert counts[cp.COUNTER] == (1 if counter_was_done or counted_before == 0 else counted_before + 1)
    assert lock_holder_pid(workdir) is None


# -- kill -9 during an apply --------------------------------------------------------------


def wait_for_slow_ship_and_settled_counter(directory: Path, proc: Any) -> None:
    """left.ship is in its (long) apply; the other branch has finished (so only left.ship is cut)."""
    cp.wait_until(lambda: cp.step_status(directory, "left.ship") == "running", proc=proc, what="left.ship running")
    cp.wait_until(lambda: cp.step_status(directory, cp.COUNTER) == "done", proc=proc, what=f"{cp.COUNTER} done")


def test_sigkill_during_an_apply_leaves_it_running_and_resume_rechecks_and_applies_it(workdir: Path) -> None:
    proc = cp.start(workdir, "deploy", CRASH_SLOW="left.ship:60")
    wait_for_slow_ship_and_settled_counter(workdir, proc)
    kill9(proc)

    doc = assert_checkpoint_parses(workdir)
    first_run = doc["last_run"]["run_id"]
    assert doc["steps"]["left.ship"]["status"] == "running"
    assert doc["steps"]["left.ship"]["run_id"] == first_run
    assert "join" not in doc["steps"] or doc["steps"]["join"]["status"] == "pending"
    assert "left.ship" not in effect_counts(workdir)

    done = resume_to_the_end(workdir)
    resumed = cp.read_state(workdir)["last_run"]["run_id"]
    effects = dict(cp.read_effects(workdir))
    assert effect_counts(workdir) == dict.fromkeys(ALL_STEPS, 1)
    assert effects["left.ship"] == resumed and effects["seed"] == first_run
    assert outcome(workdir / cp.RUNS, resumed, "left.ship") == "applied"
    assert outcome(workdir / cp.RUNS, resumed, "seed") == "unchanged"
    started = [json.loads(line) for line in done.stderr.splitlines() if '"step started"' in line]
    assert {e["step"]: e["previous_status"] for e in started}["left.ship"] == "running"


def test_sigkill_after_the_effect_but_before_the_checkpoint_is_found_done_by_the_recheck(workdir: Path) -> None:
    proc = cp.start(workdir, "deploy", CRASH_SLOW_AFTER="left.ship:60")
    cp.wait_until(lambda: "left.ship" in effect_counts(workdir), proc=proc, what="the left.ship effect")
    cp.wait_until(lambda: cp.step_status(workdir, cp.COUNTER) == "done", proc=proc, what=f"{cp.COUNTER} done")
    kill9(proc)

    doc = assert_checkpoint_parses(workdir)
    first_run = doc["last_run"]["run_id"]
    assert doc["steps"]["left.ship"]["status"] == "running"  # the effect exists, the record does not know

    resume_to_the_end(workdir)
    resumed = cp.read_state(workdir)["last_run"]["run_id"]
    assert effect_counts(workdir) == dict.fromkeys(ALL_STEPS, 1)
    assert dict(cp.read_effects(workdir))["left.ship"] == first_run
    assert outcome(workdir / cp.RUNS, resumed, "left.ship") == "found done"


def test_an_unobservable_step_killed_in_its_own_apply_is_applied_again_never_skipped(workdir: Path) -> None:
    proc = cp.start(workdir, "deploy", CRASH_SLOW_AFTER=f"{cp.COUNTER}:60")
    cp.wait_until(lambda: cp.COUNTER in effect_counts(workdir), proc=proc, what="the first count")
    cp.wait_until(lambda: cp.step_status(workdir, "left.ship") == "done", proc=proc, what="left.ship done")
    kill9(proc)
    assert assert_checkpoint_parses(workdir)["steps"][cp.COUNTER]["status"] == "running"

    resume_to_the_end(workdir)
    resumed = cp.read_state(workdir)["last_run"]["run_id"]
    counts = effect_counts(workdir)
    assert counts[cp.COUNTER] == 2, "its check cannot see the first apply, so it must not assume it"
    assert {sid: counts[sid] for sid in IDEMPOTENT} == dict.fromkeys(IDEMPOTENT, 1)
    assert outcome(workdir / cp.RUNS, resumed, cp.COUNTER) == "applied"
    assert outcome(workdir / cp.RUNS, resumed, "left.ship") == "unchanged"

    again = cp.run(workdir, "deploy")  # a finished apply is on record: never counted again
    assert again.returncode == 0
    assert effect_counts(workdir)[cp.COUNTER] == 2


def test_repeated_kills_at_any_moment_never_corrupt_the_checkpoint(workdir: Path) -> None:
    """Kill -9 over and over at growing delays; parse the state after every kill."""
    kills = 0
    counter_cut = 0  # kills that found the counter's apply in flight
    delay = 0.35
    while kills < 8:
        command = "resume" if (cp.read_state(workdir) or {}).get("last_run") else "deploy"
        proc = cp.start(workdir, command, CRASH_STEP_S="0.12")
        time.sleep(delay)
        if proc.poll() is not None:  # it finished before the kill
            assert proc.returncode == 0, cp.finish(proc).stderr
            break
        kill9(proc)
        kills += 1
        delay += 0.07
        if (workdir / cp.STATE).exists():
            doc = assert_checkpoint_parses(workdir, backup_expected=False)
            counter_cut += doc["steps"].get(cp.COUNTER, {}).get("status") == "running"
    assert kills >= 2, "the loop must have killed real runs"

    resume_to_the_end(workdir)
    counts = effect_counts(workdir)
    assert {sid: counts[sid] for sid in IDEMPOTENT} == dict.fromkeys(IDEMPOTENT, 1)
    assert 1 <= counts[cp.COUNTER] <= 1 + counter_cut
    runs_per_step = collections.defaultdict(list)
    for sid, run in cp.read_effects(workdir):
        runs_per_step[sid].append(run)
    assert all(len(set(runs)) == len(runs) for runs in runs_per_step.values()), "one apply per run at most"


# -- SIGTERM / SIGINT ---------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_stop_cleanly_with_130_and_resume_completes(workdir: Path, sig: signal.Signals) -> None:
    proc = cp.start(workdir, "deploy", CRASH_SLOW="left.ship:60")
    wait_for_slow_ship_and_settled_counter(workdir, proc)
    os.kill(proc.pid, sig)
    stopped = cp.finish(proc, timeout=20)

    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    doc = assert_checkpoint_parses(workdir)
    assert doc["last_run"]["status"] == "interrupted"
    ship = doc["steps"]["left.ship"]
    assert ship["status"] == "interrupted"
    assert ship["error"]["type"] == "Interrupted" and "left.ship" in ship["error"]["message"]
    assert doc["steps"].get("join", {}).get("status", "pending") == "pending"
    assert not (workdir / (cp.STATE + ".lock")).exists(), "a clean stop releases the lock"
    assert "left.ship" in stopped.stdout and "interrupted" in stopped.stdout
    assert "not started: the run was interrupted" in stopped.stdout
    assert "left.ship" not in effect_counts(workdir)

    resume_to_the_end(workdir)
    assert effect_counts(workdir) == dict.fromkeys(ALL_STEPS, 1)


# -- a failed step ------------------------------------------------------------------------


def test_a_failed_step_exits_1_stops_its_branch_and_resume_finishes_after_the_fix(workdir: Path) -> None:
    failed = cp.run(workdir, "deploy", CRASH_FAIL="left.build")

    assert failed.returncode == 1
    assert "error: left.build was told to fail (CRASH_FAIL)" in failed.stdout
    assert "hint: unset CRASH_FAIL and resume" in failed.stdout
    doc = assert_checkpoint_parses(workdir)
    assert doc["last_run"]["status"] == "failed"
    assert doc["steps"]["left.build"]["status"] == "failed"
    assert doc["steps"]["left.build"]["error"]["hint"] == "unset CRASH_FAIL and resume"
    assert set(effect_counts(workdir)) == {"seed", "right.build", cp.COUNTER}  # the other branch went on
    assert not (workdir / (cp.STATE + ".lock")).exists()

    resume_to_the_end(workdir)
    assert effect_counts(workdir) == dict.fromkeys(ALL_STEPS, 1)
