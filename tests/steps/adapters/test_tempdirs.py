"""Temporary folders of killed runs: named by pid, swept by the next run (issue 10, item 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from steps.adapters import tempdirs


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_private_dir_is_0700_and_names_its_pid(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempdirs.tempfile, "tempdir", str(tmp_path))
    made = Path(tempdirs.private_dir("tf"))
    assert made.parent == tmp_path and made.name.startswith(f"kyeol-tf-{os.getpid()}-")
    assert oct(made.stat().st_mode & 0o777) == "0o700"


def test_folders_of_dead_runs_go_and_live_ones_stay(tmp_path: Path) -> None:
    dead = tmp_path / f"kyeol-kube-{dead_pid()}-abc123"
    dead.mkdir()
    (dead / "kubeconfig-x").write_text("token: k8s-aws-v1.secret")
    live = tmp_path / f"kyeol-tf-{os.getppid()}-def456"
    live.mkdir()
    mine = tmp_path / f"kyeol-tf-{os.getpid()}-ghi789"
    mine.mkdir()
    other = tmp_path / "kyeol-notes"
    other.mkdir()
    removed = tempdirs.sweep_dead(tmp_path)
    assert removed == [str(dead)] and not dead.exists()
    assert live.exists() and mine.exists() and other.exists()
