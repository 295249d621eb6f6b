"""Bad input through the real ``kyeol`` CLI (a subprocess), one test per case of issue 13: each is
refused with exit 2 and a message that names the problem, no traceback, and the state file byte
for byte as it was (or never created). Also the conventions a user expects (--version, -h,
completion, bare ``kyeol``) and the prod prompt answered with Ctrl-C in a real pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from runbook.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tests.steps.wiring.test_cli import KYEOL, ROOT, config_copy, kyeol, needs_all_phases, subprocess_env

STATE = {"schema_version": 1, "tool": "kyeol 0.1.0", "updated_at": None, "last_run": None, "steps": {}}


def seeded_state(tmp_path: Path) -> Path:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(STATE))
    return state


def refused(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, each needle in the output, no traceback; returns the output."""
    text = done.stdout + done.stderr
    assert done.returncode == EXIT_USAGE, text
    assert "Traceback" not in text, text
    for needle in needles:
        assert needle in text, (needle, text)
    return text


def deploy(
    tmp_path: Path,
    *args: str,
    dry_run: bool = True,
    state: Path | str | None = None,
    config: Path | None = None,
    runs: Path | str | None = None,
    cwd: Path = ROOT,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``kyeol deploy --env dev`` (a dry run unless told) with this test's config copy, state and
    runs folder; an empty string for ``state`` or ``runs`` is passed as it is."""
    return kyeol(
        "deploy",
        "--env",
        "dev",
        *(["--dry-run"] if dry_run else []),
        "--config",
        str(config or config_copy(tmp_path)),
        "--state",
        str(tmp_path / "state.json" if state is None else state),
        "--runs-dir",
        str(tmp_path / "runs" if runs is None else runs),
        *args,
        cwd=cwd,
        **env,
    )


# -- conventions ----------------------------------------------------------------------------


def test_version_h_and_bare_kyeol() -> None:
    version = kyeol("--version")
    assert version.returncode == EXIT_OK and version.stdout.startswith("kyeol ")
    short = kyeol("deploy", "-h")
    assert short.returncode == EXIT_OK and "--only STEP" in short.stdout and "--parallelism N" in short.stdout
    assert "--state PATH" in short.stdout and "TEXT" not in short.stdout and "INTEGER" not in short.stdout
    bare = kyeol()
    assert bare.returncode == EXIT_OK and "Usage: kyeol" in bare.stdout and "deploy" in bare.stdout


def test_the_shell_completes_step_ids() -> None:
    done = subprocess.run(
        [str(KYEOL)],
        env={
            **subprocess_env(),
            "_KYEOL_COMPLETE": "complete_bash",
            "COMP_WORDS": "kyeol deploy --only dev.i",
            "COMP_CWORD": "3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.split() == ["dev.infra", "dev.images", "dev.infra.destroy"], done
    # typer's own switch for naming the shell instead of detecting it (typer/completion.py)
    shown = kyeol("--show-completion", "bash", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert shown.returncode == 0 and "_KYEOL_COMPLETE" in shown.stdout


def test_the_readme_and_the_install_hint_name_the_same_terraform_version() -> None:
    import re

    from steps.adapters.terraform import INSTALL_HINT

    readme = (ROOT / "README.md").read_text()
    in_readme = re.findall(r"Terraform ≥ (\d+\.\d+)", readme)
    in_hint = re.findall(r"Terraform >= (\d+\.\d+)", INSTALL_HINT)
    assert in_readme and in_hint and set(in_readme) == set(in_hint), (in_readme, in_hint)


# -- selections ----------------------------------------------------------------------------


@needs_all_phases
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("--only", ""), "--only"),
        (("--from", ""), "--from"),
        (("--to", " "), "--to"),
        (("--only", "dev.infra", "--only", ""), "--only"),
    ],
)
def test_an_empty_step_id_does_not_widen_the_selection(tmp_path: Path, args: tuple[str, ...], flag: str) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    refused(deploy(tmp_path, *args, state=state), f"{flag} was given an empty step id")
    assert state.read_bytes() == before and not (tmp_path / "runs").exists()


@needs_all_phases
def test_a_dry_run_of_a_step_whose_needs_are_not_done_says_so(tmp_path: Path) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    refused(deploy(tmp_path, "--only", "dev.sync", state=state), "'dev.sync' needs", "which is not done")
    assert state.read_bytes() == before


# -- paths -----------------------------------------------------------------------------------


@needs_all_phases
def test_closed_stdin_is_no_traceback(tmp_path: Path) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    done = subprocess.run(
        f'exec 0<&-; exec "{KYEOL}" deploy --env prod --config "{config_copy(tmp_path)}" --state "{state}" '
        f'--runs-dir "{tmp_path / "runs"}"',
        shell=True,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    refused(done, "prod is protected")
    assert state.read_bytes() == before


@needs_all_phases
def test_an_empty_or_folder_state_path_is_refused(tmp_path: Path) -> None:
    refused(deploy(tmp_path, state=""), "the state location is empty")
    folder = tmp_path / "states"
    folder.mkdir()
    refused(deploy(tmp_path, state=folder), "is a folder, not a checkpoint file", f"{folder / 'state.json'}")
    assert list(folder.iterdir()) == []
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    refused(deploy(tmp_path, state=a_file / "state.json"), "lies under a file")
    assert a_file.read_text() == "x"


@needs_all_phases
def test_a_runs_dir_that_is_a_file_is_refused_before_the_run(tmp_path: Path) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    runs = tmp_path / "runs-file"
    runs.write_text("not a folder")
    refused(deploy(tmp_path, state=state, runs=runs), "is a file, not a folder")
    refused(deploy(tmp_path, state=state, runs=""), "--runs-dir) is empty")
    assert state.read_bytes() == before and runs.read_text() == "not a folder"


@needs_all_phases
def test_a_report_that_cannot_be_written_does_not_turn_success_into_failure(tmp_path: Path) -> None:
    # /proc/self is a folder nobody (root included) can create anything in: the check before
    # the run passes (a missing folder is created on write), the write after it fails.
    runs = "/proc/self/kyeol-runs"
    done = deploy(tmp_path, runs=runs)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "warning: the run report could not be written to /proc/self/kyeol-runs" in done.stderr
    assert "Traceback" not in done.stderr and "report:" not in done.stdout


@needs_all_phases
@pytest.mark.parametrize("flag", ["--infra-repo", "--platform-repo", "--app-repo"])
def test_a_missing_tree_is_refused_naming_the_flag(tmp_path: Path, flag: str) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    refused(deploy(tmp_path, flag, str(tmp_path / "nope"), state=state), "does not exist", f"from {flag}")
    a_file = tmp_path / "file"
    a_file.write_text("")
    refused(deploy(tmp_path, flag, str(a_file), state=state), "is a file, not a folder", f"from {flag}")
    refused(deploy(tmp_path, flag, "", state=state), f"{flag} is empty")
    assert state.read_bytes() == before


@needs_all_phases
def test_a_real_run_with_a_missing_tree_is_refused_before_the_lock(tmp_path: Path) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    done = deploy(tmp_path, "--infra-repo", str(tmp_path / "nope"), dry_run=False, state=state)
    refused(done, "from --infra-repo")
    assert state.read_bytes() == before and not (tmp_path / "state.json.lock").exists()


@needs_all_phases
def test_config_paths_are_relative_to_the_config_file_and_a_bad_one_names_the_file(tmp_path: Path) -> None:
    elsewhere = tmp_path / "conf"
    elsewhere.mkdir()
    text = (ROOT / "kyeol.toml").read_text()
    for folder in ("kyeol-infra-terraform", "kyeol-platform-gitops", "kyeol-app-gitops"):
        (elsewhere / folder).symlink_to(ROOT / folder)
    config = elsewhere / "kyeol.toml"
    config.write_text(text)
    # Run from another folder: the trees are found next to the config file, not the working folder.
    done = deploy(tmp_path, config=config, state=tmp_path / "s.json", cwd=tmp_path)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    config.write_text(text.replace('app_repo = "kyeol-app-gitops"', 'app_repo = "no-such-tree"'))
    done = deploy(tmp_path, config=config, state=tmp_path / "s.json", cwd=tmp_path)
    refused(done, str(elsewhere / "no-such-tree"), f"from paths.app_repo in {config}")


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "suggestion"),
    [
        ('region = "ap-northeast-1"', 'regoin = "ap-northeast-1"', "project.regoin", "'region'"),
        ('cidr = "10.10.0.0/16"', 'cidr = "10.10.0.0/16"\nnode_typ = "t3.medium"', "envs.dev.node_typ", "'node_type'"),
        ("[paths]", '[paths]\ninfra_rep = "x"', "paths.infra_rep", "'infra_repo'"),
        ("[envs.stage]", "[envs.stgae]", "envs.stgae", "[envs.stage]"),
    ],
)
def test_an_unknown_config_key_is_refused_with_a_suggestion(
    tmp_path: Path, old: str, new: str, key: str, suggestion: str
) -> None:
    config = config_copy(tmp_path, **{old: new})
    done = kyeol("steps", "--config", str(config))
    refused(done, repr(key) if not key.startswith("envs.stgae") else "'stgae'", "did you mean", suggestion)


def test_a_config_that_is_a_folder_or_empty_is_refused(tmp_path: Path) -> None:
    refused(kyeol("steps", "--config", str(tmp_path)), "is a folder, not a file")
    refused(kyeol("steps", "--config", ""), "--config is empty")


@needs_all_phases
def test_placeholder_account_ids_are_noted_in_a_dry_run(tmp_path: Path) -> None:
    done = deploy(tmp_path, AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent")
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "placeholder 123456789012" in done.stdout and "a real run refuses it" in done.stdout


@needs_all_phases
def test_placeholder_account_ids_are_refused_in_a_real_run(tmp_path: Path) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    done = deploy(tmp_path, dry_run=False, state=state, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    refused(done, "placeholder 123456789012", "fill in your AWS account ids")
    assert state.read_bytes() == before and not (tmp_path / "state.json.lock").exists()


# -- state -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "needle", "hint"),
    [
        ("S3://jung-kyeol-tfstate-123456789012/kyeol/state.json", "S3:// is not a state location", "lowercase"),
        ("s3://Jung_Bucket/kyeol/state.json", "not a valid S3 bucket name", "uppercase"),
        ("s3://ab/state.json", "not a valid S3 bucket name", "3 to 63"),
        ("s3://a..b/state.json", "not a valid S3 bucket name", "adjacent dots"),
        ("s3://10.0.0.1/state.json", "not a valid S3 bucket name", "IP address"),
        ("s3://bucket-only", "is not s3://bucket/key", "e.g. s3://"),
    ],
)
def test_malformed_s3_state_locations_are_bad_input(tmp_path: Path, location: str, needle: str, hint: str) -> None:
    for command in (
        ["status"],
        ["deploy", "--env", "dev", "--dry-run", "--config", str(config_copy(tmp_path)), "--runs-dir", str(tmp_path / "runs")],
    ):
        done = kyeol(*command, "--state", location, cwd=tmp_path)
        refused(done, needle, hint)
    assert list(tmp_path.iterdir()) == [tmp_path / "kyeol.toml"]  # no local file named S3:/… was made


def test_an_unknown_schema_version_names_the_kyeol_that_wrote_it(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({**STATE, "schema_version": 7, "tool": "kyeol 4.2.0"}))
    before = state.read_bytes()
    refused(kyeol("status", "--state", str(state)), "schema_version 7, written by kyeol 4.2.0", "upgrade to kyeol 4.2.0")
    assert state.read_bytes() == before


def test_the_state_records_the_kyeol_version_that_wrote_it(tmp_path: Path) -> None:
    from runbook import __version__
    from steps.wiring.kyeol import open_store

    store = open_store(str(tmp_path / "state.json"))
    store.save(store.load())
    assert json.loads((tmp_path / "state.json").read_text())["tool"] == f"kyeol {__version__}"


# -- the prod prompt -------------------------------------------------------------------------


@needs_all_phases
def test_ctrl_c_at_the_prod_confirmation_prompt_exits_130(tmp_path: Path) -> None:
    state = seeded_state(tmp_path)
    before = state.read_bytes()
    pid, fd = pty.fork()
    if pid == 0:  # the child: kyeol at a terminal
        os.chdir(tmp_path)
        os.execve(
            str(KYEOL),
            [
                str(KYEOL),
                "deploy",
                "--env",
                "prod",
                "--config",
                str(config_copy(tmp_path)),
                "--state",
                str(state),
                "--runs-dir",
                str(tmp_path / "runs"),
            ],
            subprocess_env(),
        )
    seen = b""
    deadline = time.monotonic() + 60
    while b"Type the environment name" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    assert b"Type the environment name" in seen, seen
    os.write(fd, b"\x03")  # Ctrl-C, as the terminal's line discipline delivers it: SIGINT
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == EXIT_INTERRUPTED, seen
    assert b"Traceback" not in seen and state.read_bytes() == before


# -- wording ---------------------------------------------------------------------------------


def test_status_json_keeps_runbook_order(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    doc = json.loads((ROOT / "state.json.example").read_text())
    doc["steps"] = dict(reversed(list(doc["steps"].items())))  # stored in any order
    state.write_text(json.dumps(doc))
    before = state.read_bytes()
    done = kyeol("status", "--state", str(state), "--format", "json")
    assert done.returncode == EXIT_OK, done.stderr
    from steps.wiring.project import runbook_order

    listed = list(json.loads(done.stdout)["steps"])
    assert listed == [sid for sid in runbook_order() if sid in doc["steps"]] and listed[0] == "bootstrap"
    assert state.read_bytes() == before


@needs_all_phases
def test_a_dry_run_report_records_the_exit_code_returned_and_no_doubled_status(tmp_path: Path) -> None:
    plain = deploy(tmp_path)
    assert plain.returncode == EXIT_OK, plain.stdout + plain.stderr
    detailed = deploy(tmp_path, "--detailed-exitcode")
    assert detailed.returncode == 4
    reports = sorted((tmp_path / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    assert [json.loads(p.read_text())["exit_code"] for p in reports] == [0, 4]
    assert "planned planned" not in plain.stdout and "pending:" not in plain.stdout
    assert "changes to apply:" in plain.stdout.splitlines()[-2]


@needs_all_phases
def test_after_a_failure_the_summary_says_what_to_do_next_and_the_report_has_a_hint(tmp_path: Path) -> None:
    empty = tmp_path / "not-the-infra-tree"
    empty.mkdir()  # a folder (so not bad input), but with no Terraform roots in it: bootstrap fails
    done = deploy(tmp_path, "--infra-repo", str(empty))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    nexts = [line for line in lines if line.startswith("next: ")]
    assert nexts and nexts[0].startswith("next: bootstrap: ") and nexts[-1] == "next: then run the dry-run again", lines
    report = json.loads(next((tmp_path / "runs").glob("*.json")).read_text())
    failed = [s for s in report["steps"] if s["status"] == "failed"]
    assert failed and all(s["error"]["hint"] for s in failed)


@needs_all_phases
def test_a_state_folder_that_cannot_hold_the_lock_is_bad_input(tmp_path: Path, moto_endpoint: str) -> None:
    # /proc/self: nobody can create a folder there; the run is refused when it takes the lock.
    done = deploy(
        tmp_path,
        "--only",
        "bootstrap",
        dry_run=False,
        state="/proc/self/kyeol/state.json",
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    refused(done, "cannot take the lock of state /proc/self/kyeol/state.json", "a folder you can write")
    assert not (tmp_path / "runs").exists()
