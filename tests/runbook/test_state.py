"""The checkpoint file: atomic writes with a backup, schema versions, corrupt files left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook import state as state_mod
from runbook.errors import EXIT_LOCKED, EXIT_USAGE, LockHeld, StateError
from runbook.identity import default_tool
from runbook.lock import LockHolder
from runbook.redact import Redactor
from runbook.state import (
    SCHEMA_VERSION,
    FileStateStore,
    new_document,
    record,
    validate_document,
)

ROOT = Path(__file__).resolve().parents[2]


def a_document() -> dict:
    doc = new_document("tester 1.0")
    rec = record(doc, "dev.infra", phase=3, scope="dev")
    rec.update(status="done", attempts=1, outputs={"cluster_name": "jung-dev-eks"}, fingerprint="sha256:ab")
    return doc


def no_temp_files(folder: Path) -> bool:
    return not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# -- load and save ---------------------------------------------------------------------------


def test_an_absent_file_loads_as_a_new_document_and_is_not_created(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path / "state.json")
    doc = store.load()
    assert doc["schema_version"] == SCHEMA_VERSION and doc["steps"] == {} and doc["last_run"] is None
    assert not (tmp_path / "state.json").exists()


def test_save_then_load_round_trips_and_stamps_tool_and_time(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    FileStateStore(path, tool="tester 1.0").save(a_document())
    loaded = FileStateStore(path).load()
    assert loaded["steps"]["dev.infra"]["outputs"] == {"cluster_name": "jung-dev-eks"}
    assert loaded["tool"] == "tester 1.0"
    assert loaded["updated_at"].endswith("+00:00")
    assert json.loads(path.read_text()) == loaded  # plain JSON on disk


def test_every_save_keeps_the_previous_version_as_bak(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = FileStateStore(path)
    first = a_document()
    store.save(first)
    assert not (tmp_path / "state.json.bak").exists()  # nothing to back up yet
    before = path.read_bytes()
    inode = path.stat().st_ino
    second = store.load()
    second["steps"]["dev.infra"]["status"] = "failed"
    store.save(second)
    assert (tmp_path / "state.json.bak").read_bytes() == before
    assert (tmp_path / "state.json.bak").stat().st_ino == inode  # the old file itself, not a copy
    assert FileStateStore(path).load()["steps"]["dev.infra"]["status"] == "failed"
    assert no_temp_files(tmp_path)


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    store = FileStateStore(path)
    store.save(a_document())
    before = path.read_bytes()
    real_replace = os.replace

    def full_disk(src: str, dst: str) -> None:
        if Path(dst) == path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(StateError) as err:
        store.save(store.load())
    assert "No space left on device" in err.value.message and "previous version is unchanged" in err.value.message
    assert path.read_bytes() == before
    assert no_temp_files(tmp_path)


KILLED_WRITER = """
import sys
sys.path.insert(0, sys.argv[2])
from runbook.state import FileStateStore, new_document, record
store = FileStateStore(sys.argv[1], tool="writer 1.0")
doc = new_document("writer 1.0")
print("ready", flush=True)
i = 0
while True:
    i += 1
    rec = record(doc, f"step-{i % 40}", phase=1, scope="shared")
    rec["outputs"] = {"n": i, "padding": "x" * 4000}
    store.save(doc)
"""


@pytest.mark.slow
def test_a_writer_killed_at_any_moment_leaves_a_valid_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for delay in (0.05, 0.11, 0.17, 0.23):
        child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(ROOT)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        doc = FileStateStore(path).load()  # parses and validates, whatever moment the kill hit
        assert doc["steps"], "the writer saved at least once"
        assert FileStateStore(str(path) + ".bak").load()["steps"]


# -- schema versions -------------------------------------------------------------------------


def test_a_newer_schema_is_refused_naming_the_writer_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    newer = {"schema_version": SCHEMA_VERSION + 1, "tool": "kyeol 9.0.0", "steps": {"x": {"status": "quantum"}}}
    path.write_text(json.dumps(newer))
    before = path.read_bytes()
    store = FileStateStore(path, tool="kyeol 0.1.0")
    with pytest.raises(StateError) as err:
        store.load()
    assert err.value.exit_code == EXIT_USAGE
    assert f"schema_version {SCHEMA_VERSION + 1}" in err.value.message and "kyeol 9.0.0" in err.value.message
    assert "kyeol 0.1.0" in err.value.message and "left untouched" in err.value.message
    assert err.value.hint == "upgrade to kyeol 9.0.0 or newer to use this state"
    with pytest.raises(StateError, match="not writing state file"):
        store.save(new_document())
    assert path.read_bytes() == before


@pytest.mark.parametrize("version", [None, "1", True, 1.0])
def test_a_missing_or_malformed_schema_version_is_refused(tmp_path: Path, version: object) -> None:
    path = tmp_path / "state.json"
    doc = {"tool": "x", "steps": {}}
    if version is not None:
        doc["schema_version"] = version
    path.write_text(json.dumps(doc))
    with pytest.raises(StateError, match="no valid schema_version"):
        FileStateStore(path).load()


def test_an_older_schema_is_migrated_and_the_old_bytes_kept_as_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(doc: dict) -> dict:
        # Synthetic v0: steps were a list of records carrying their own id, and "state" meant status.
        steps = {r["id"]: {"status": r["state"], "phase": r["phase"], "scope": "shared"} for r in doc.pop("steps")}
        return {**doc, "steps": steps, "last_run": None}

    monkeypatch.setitem(state_mod.MIGRATIONS, 0, v0_to_v1)
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps({"schema_version": 0, "tool": "kyeol 0.0.1", "steps": [{"id": "bootstrap", "state": "done", "phase": 1}]})
    )
    v0_bytes = path.read_bytes()
    store = FileStateStore(path)
    doc = store.load()
    assert doc["schema_version"] == 1
    assert doc["steps"] == {"bootstrap": {"status": "done", "phase": 1, "scope": "shared"}}
    store.save(doc)
    assert json.loads(path.read_text())["schema_version"] == 1
    assert (tmp_path / "state.json.bak").read_bytes() == v0_bytes


def test_an_older_schema_without_a_migration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema_version": 0, "tool": "kyeol 0.0.1", "steps": []}))
    with pytest.raises(StateError) as err:
        FileStateStore(path).load()
    assert "schema_version 0" in err.value.message and "cannot migrate" in err.value.message
    assert "kyeol 0.0.1" in err.value.hint


# -- corrupt and invalid files ---------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b'{"schema_version": 1, "steps": {', b"\xff\xfe garbage", b"[1, 2]"])
def test_a_corrupt_file_is_reported_and_never_overwritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    (tmp_path / "state.json.bak").write_text(json.dumps(a_document()))
    path.write_bytes(content)
    store = FileStateStore(path)
    with pytest.raises(StateError) as err:
        store.load()
    assert str(path) in err.value.message
    assert "corrupt" in err.value.message or "not a valid checkpoint" in err.value.message
    assert f"restore {path}.bak" in err.value.hint
    with pytest.raises(StateError):
        store.save(new_document())
    assert path.read_bytes() == content
    assert json.loads((tmp_path / "state.json.bak").read_text())["steps"]  # the backup survives too


def test_a_store_that_never_loaded_still_refuses_to_overwrite_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{oops")
    with pytest.raises(StateError, match="is corrupt"):
        FileStateStore(path).save(new_document())
    assert path.read_text() == "{oops"


def test_corrupt_hint_without_a_backup_says_to_move_the_file_away(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{oops")
    with pytest.raises(StateError) as err:
        FileStateStore(path).load()
    assert err.value.hint.startswith(f"move {path} away")


def test_validate_document_names_each_problem_and_the_file() -> None:
    doc = new_document()
    doc["steps"] = {
        "c": "done",
        "a": {"status": "sleeping", "phase": 1},
        "b": {"status": "done", "attempts": "two", "duration_s": True, "outputs": []},
    }
    doc["last_run"] = {"run_id": 7, "command": "deploy", "status": "ok"}
    with pytest.raises(StateError) as err:
        validate_document(doc, "/x/state.json")
    message = err.value.message
    assert message.startswith("state /x/state.json is not a valid checkpoint")
    for part in (
        "last_run.run_id is int, not str",
        "steps.c is not an object",
        "steps.a.status is 'sleeping', not one of done, failed, interrupted, pending, planned, running",
        "steps.b.attempts is str, not int",
        "steps.b.duration_s is true, not int or float",
    ):
        assert part in message
    assert message.endswith("; and 1 more")  # steps.b.outputs, beyond the first five


def test_validate_document_accepts_extra_fields_the_runner_adds() -> None:
    doc = a_document()
    doc["steps"]["dev.infra"].update(previous_status="done", plan_unknown="", notes=["n"], planned_at="t")
    doc["last_run"] = {"run_id": "r", "command": "deploy", "env": None, "dry_run": True, "status": "ok", "started_at": "t"}
    assert validate_document(doc, "x") is doc


def test_save_refuses_an_invalid_document_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = FileStateStore(path)
    store.save(a_document())
    before = path.read_bytes()
    broken = store.load()
    broken["steps"]["dev.infra"]["status"] = "half-done"
    with pytest.raises(StateError, match="steps.dev.infra.status"):
        store.save(broken)
    not_json = store.load()
    not_json["steps"]["dev.infra"]["outputs"] = {"when": object()}
    with pytest.raises(StateError, match="not plain JSON"):
        store.save(not_json)
    assert path.read_bytes() == before


# -- locking through the store, helpers, the example -------------------------------------------


def test_the_store_locks_through_its_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first, second = FileStateStore(path), FileStateStore(path)
    holder = LockHolder.for_this_process("run-1", "deploy")
    first.acquire(holder)
    assert (tmp_path / "state.json.lock").exists()
    assert second.holder() == holder
    with pytest.raises(LockHeld) as err:
        second.acquire(LockHolder.for_this_process("run-2", "deploy"))
    assert err.value.exit_code == EXIT_LOCKED and "run-1" in err.value.message
    first.release("run-1")
    assert second.holder() is None
    second.acquire(LockHolder.for_this_process("run-2", "resume"))
    assert second.force_unlock().run_id == "run-2"


def test_record_creates_a_pending_record_once() -> None:
    doc = new_document()
    rec = record(doc, "argocd", phase=4, scope="shared")
    assert rec["status"] == "pending" and rec["phase"] == 4 and rec["outputs"] == {}
    rec["status"] = "done"
    assert record(doc, "argocd") is rec
    validate_document(doc, "memory")


def test_default_tool_names_the_installed_distribution() -> None:
    from runbook import __version__

    name, version = default_tool().split(" ")
    assert version == __version__ and name and name != ""
    assert new_document()["tool"] == default_tool()


def test_the_example_checkpoint_is_a_valid_mid_run_state() -> None:
    example = ROOT / "state.json.example"
    doc = FileStateStore(example).load()
    steps = doc["steps"]
    assert doc["last_run"]["command"] == "deploy" and doc["last_run"]["env"] == "dev"
    assert doc["last_run"]["status"] == "running"
    done = {sid for sid, rec in steps.items() if rec["status"] == "done"}
    assert done == {"bootstrap", "account", "global", "mgmt.registry", "mgmt.infra", "dev.infra", "argocd"}
    assert all(steps[sid]["phase"] <= 4 for sid in done)
    assert steps["dev.register"]["status"] == "running"
    assert {sid for sid, rec in steps.items() if rec["status"] == "pending"} == {
        "dev.addons",
        "dev.images",
        "dev.sync",
        "dev.verify",
    }
    assert steps["dev.infra"]["outputs"]["cluster_name"] == "jung-dev-eks"
    assert ":123456789012:" in steps["dev.infra"]["outputs"]["lbc_role_arn"]
    # No secret: redaction changes nothing, and secrets appear only as Secrets Manager ARNs.
    assert Redactor().redact_obj(doc) == doc
    text = example.read_text().lower()
    for word in ("password", "secret_key", "private key", "token"):
        assert word not in text
    assert all(arn.startswith("arn:aws:secretsmanager:") for arn in steps["dev.infra"]["outputs"]["secret_arns"].values())
