"""The S3 state store against moto: conditional writes, previous versions, a leased lock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from runbook.errors import EXIT_LOCKED, LockHeld, StateError
from runbook.lock import LockHolder
from runbook.state import new_document, record
from steps.adapters.s3_state import S3StateStore

BUCKET = "jung-kyeol-tfstate-123456789012"
KEY = "kyeol/state.json"
REGION = "ap-northeast-1"


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.records.append(("warning", event, fields))

    def error(self, event: str, **fields: Any) -> None:
        self.records.append(("error", event, fields))


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    import boto3

    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def store(**kwargs: Any) -> S3StateStore:
    kwargs.setdefault("heartbeat_s", 0)
    kwargs.setdefault("log", RecordingLog())
    return S3StateStore(BUCKET, KEY, region=REGION, tool="kyeol 0.1.0", **kwargs)


def body(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def a_document(status: str = "done") -> dict[str, Any]:
    doc = new_document("kyeol 0.1.0")
    record(doc, "bootstrap", phase=1, scope="shared").update(status=status, outputs={"state_bucket": BUCKET})
    return doc


def holder(run_id: str, **changes: Any) -> LockHolder:
    h = LockHolder.for_this_process(run_id, "deploy")
    for key, value in changes.items():
        setattr(h, key, value)
    return h


def eventually(condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


# -- state -----------------------------------------------------------------------------------


def test_an_absent_object_loads_as_a_new_document_and_saves_round_trip(s3: Any) -> None:
    first = store()
    assert first.location == f"s3://{BUCKET}/{KEY}"
    assert first.load()["steps"] == {}
    first.save(a_document())
    loaded = store().load()
    assert loaded["steps"]["bootstrap"]["outputs"] == {"state_bucket": BUCKET}
    assert loaded["tool"] == "kyeol 0.1.0" and loaded["updated_at"]


def test_without_versioning_the_previous_version_is_kept_as_bak(s3: Any) -> None:
    st = store()
    st.load()
    st.save(a_document("running"))
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{KEY}.bak")
    st.save(a_document("done"))
    assert body(s3, f"{KEY}.bak")["steps"]["bootstrap"]["status"] == "running"
    assert body(s3, KEY)["steps"]["bootstrap"]["status"] == "done"


def test_with_bucket_versioning_the_bucket_keeps_the_previous_version(s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    st = store()
    st.load()
    st.save(a_document("running"))
    st.save(a_document("done"))
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]
    assert sorted(v["Key"] for v in versions) == [KEY, KEY]  # two versions, no .bak object
    older = next(v for v in versions if not v["IsLatest"])
    old = s3.get_object(Bucket=BUCKET, Key=KEY, VersionId=older["VersionId"])
    assert json.loads(old["Body"].read())["steps"]["bootstrap"]["status"] == "running"


def test_a_second_writer_is_refused_and_overwrites_nothing(s3: Any) -> None:
    store().save(a_document("running"))
    laptop, runner = store(), store()
    laptop.load()
    runner.load()
    laptop.save(a_document("done"))
    with pytest.raises(StateError) as err:
        runner.save(a_document("failed"))
    assert "changed by someone else since this run read it" in err.value.message
    assert "status" in err.value.hint
    assert body(s3, KEY)["steps"]["bootstrap"]["status"] == "done"
    laptop.save(a_document("done"))  # the writer that read last may go on


def test_two_first_writers_cannot_both_create_the_object(s3: Any) -> None:
    a, b = store(), store()
    a.load()
    b.load()
    a.save(a_document("running"))
    with pytest.raises(StateError, match="changed by someone else"):
        b.save(a_document("failed"))
    assert body(s3, KEY)["steps"]["bootstrap"]["status"] == "running"


def test_a_corrupt_object_is_reported_and_left_untouched(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"{truncated")
    st = store()
    with pytest.raises(StateError) as err:
        st.load()
    assert "is corrupt" in err.value.message and "bucket versioning" in err.value.hint
    with pytest.raises(StateError, match="not writing"):
        st.save(a_document())
    with pytest.raises(StateError, match="is corrupt"):
        store().save(a_document())  # a store that never loaded checks first
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"{truncated"


def test_a_missing_bucket_says_to_bootstrap_first(moto_endpoint: str) -> None:
    with pytest.raises(StateError) as err:
        store().load()
    assert f"bucket {BUCKET} does not exist" in err.value.message and "bootstrap" in err.value.hint


# -- lock ------------------------------------------------------------------------------------


def test_a_second_locker_is_refused_naming_the_holder(s3: Any) -> None:
    laptop = store()
    me = holder("20261126T0100Z-aa", user="alice")
    laptop.acquire(me)
    lock = body(s3, f"{KEY}.lock")
    assert lock["run_id"] == me.run_id and lock["lease_s"] == 600.0
    with pytest.raises(LockHeld) as err:
        store().acquire(holder("run-2"))
    message = err.value.message
    assert err.value.exit_code == EXIT_LOCKED
    for part in (f"s3://{BUCKET}/{KEY}", me.run_id, "alice", socket.gethostname(), f"pid {me.pid}", me.started_at, "runs out in"):
        assert part in message
    assert "unlock --force" in err.value.hint
    assert store().holder() == me


def test_release_removes_only_its_own_lock(s3: Any) -> None:
    laptop, other = store(), store()
    laptop.acquire(holder("run-1"))
    other.release("run-2")
    assert store().holder().run_id == "run-1"
    assert other._log.records[0][1] == "not releasing a state lock held by another run"  # type: ignore[union-attr]
    laptop.release("run-1")
    assert store().holder() is None
    other.acquire(holder("run-2"))
    assert store().holder().run_id == "run-2"


def test_force_unlock_removes_any_lock_and_says_whose(s3: Any) -> None:
    assert store().force_unlock() is None
    store().acquire(holder("run-1", host="ci-runner-7"))
    removed = store().force_unlock()
    assert removed is not None and removed.run_id == "run-1" and removed.host == "ci-runner-7"
    assert store().holder() is None


@pytest.mark.slow
def test_a_crashed_runners_lock_is_taken_over_only_after_its_lease_ran_out(s3: Any) -> None:
    crashed = holder("ci-run-9", host="ci-runner-7", pid=4242)
    store(lease_s=1.0).acquire(crashed)  # never renewed, never released: the runner died
    waiting = store(lease_s=1.0)
    with pytest.raises(LockHeld, match="ci-run-9"):
        waiting.acquire(holder("laptop-run"))

    def taken() -> bool:
        try:
            waiting.acquire(holder("laptop-run"))
        except LockHeld:
            return False
        return True

    eventually(taken)
    assert waiting.taken_over == crashed
    assert body(s3, f"{KEY}.lock")["run_id"] == "laptop-run"
    level, event, fields = waiting._log.records[-1]  # type: ignore[union-attr]
    assert (level, event) == ("warning", "took over a stale state lock") and "lease of 1s ran out" in fields["reason"]


@pytest.mark.slow
def test_a_heartbeat_keeps_the_lease_and_notices_a_forced_unlock(s3: Any) -> None:
    live = store(lease_s=1.0, heartbeat_s=0.2)
    live.acquire(holder("long-run", host="ci-runner-7"))
    try:
        time.sleep(2.5)  # more than twice the lease: only the heartbeat keeps it
        with pytest.raises(LockHeld, match="long-run"):
            store(lease_s=1.0).acquire(holder("other-run"))
        live.save(a_document())  # holding the lock, the run writes as usual
        store().force_unlock()
        eventually(lambda: live.lock_lost is not None)
        with pytest.raises(StateError, match="lost its lock"):
            live.save(a_document())
        assert live._log.records[-1][:2] == ("error", "lost the state lock")  # type: ignore[union-attr]
    finally:
        live.release("long-run")


def test_a_dead_process_on_this_host_loses_its_lock_at_once(s3: Any) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    store().acquire(holder("crashed-run", pid=child.pid))  # lease far from over
    taker = store()
    taker.acquire(holder("next-run"))
    assert taker.taken_over is not None and taker.taken_over.run_id == "crashed-run"
    assert store().holder().run_id == "next-run"


def test_an_unreadable_lock_is_held_until_forced(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{KEY}.lock", Body=b"garbage")
    with pytest.raises(LockHeld, match="cannot be read"):
        store().acquire(holder("run-1"))
    assert store().holder() is None
    assert store().force_unlock() is None
    store().acquire(holder("run-1"))
