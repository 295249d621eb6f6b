"""Chaos: the real kyeol CLI killed at random moments while every boundary fails now and then.

One world; a deploy, then resumes, each stopped at a random moment in one of the ways a run
ends in real life — SIGKILL to kyeol alone (its terraform/helm go on, as after a crash), to its
process group, to its whole process tree (a cancelled CI job), SIGTERM, Ctrl-C twice — some of
them timed to land inside a terraform or a helm run. Meanwhile 25% of terraform's read-only
commands and applies fail (throttling, connection resets; an apply is refused before it starts:
tests/standins/flaky_terraform.py), 25% of
kyeol's own AWS calls fail or lose their answer (a botocore hook in a sitecustomize on the
kyeol subprocess's PYTHONPATH: tests/e2e/chaos_site), 25% of Kubernetes API requests answer
429/503 and 25% of kyeol's writes there lose their answer (504 after the write), 25% of GitHub
requests answer 502 and the first dispatch's answer is lost.

Invariants: after every stop the state and its backup are valid JSON; the run ends with exit 0
within a bounded number of resumes (a stop that names `terraform import` commands is followed
by them, as an operator would); the final world is an undisturbed deploy's: every resource
once, every root's Terraform state complete (a plan finds nothing to do), one sync, one
dispatch, the helm release deployed; no kyeol or Terraform lock left; a later deploy changes
nothing; no kyeol temporary folder (saved plans, kubeconfigs with tokens) left on disk.

The seed is printed; ``KYEOL_CHAOS_SEED`` replays one, ``KYEOL_CHAOS_KILLS`` sets how many
stops (default 4, a few minutes on 2 cores).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from tests.e2e.world import DEV, STEP_IDS, Running, World

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
FLAKY_TERRAFORM = HERE.parent / "standins" / "flaky" / "terraform"
SEED = int(os.environ.get("KYEOL_CHAOS_SEED") or random.SystemRandom().randrange(1_000_000))
KILLS = int(os.environ.get("KYEOL_CHAOS_KILLS") or 4)
MAX_RESUMES = 8
RATE = 0.25
METHODS = ("kill kyeol", "kill group", "kill tree", "sigterm", "ctrl-c twice")
MOMENTS = ("any", "terraform", "helm")
ROOTS = ("envs/bootstrap", "global/us-east-1", "envs/mgmt", "envs/dev")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running_program(pid: int, word: str) -> bool:
    for child in descendants(pid):
        try:
            if word in (Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")):
                return True
        except OSError:
            continue
    return False


def stop(running: Running, method: str) -> int:
    """Stop kyeol the way ``method`` says; returns its exit code."""
    pid = running.proc.pid
    if method == "kill kyeol":
        os.kill(pid, signal.SIGKILL)
    elif method == "kill group":
        os.killpg(pid, signal.SIGKILL)  # started in its own session: its group
    elif method == "kill tree":
        for victim in [pid, *descendants(pid)]:  # a cancelled CI job: everything at once
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
    elif method == "sigterm":
        os.kill(pid, signal.SIGTERM)
    elif method == "ctrl-c twice":
        os.kill(pid, signal.SIGINT)
        time.sleep(0.3)
        if running.proc.poll() is None:
            os.kill(pid, signal.SIGINT)
    code = running.wait(timeout=240)
    if method in ("sigterm", "ctrl-c twice"):
        assert code in (0, 130), (method, running.result())
    return code


def assert_files_valid(world: World) -> None:
    for path in (world.state, world.state.with_name(world.state.name + ".bak")):
        if path.exists():
            json.loads(path.read_text())  # raises on a torn or half-written file


def chaos_env(world: World, rng: random.Random) -> dict[str, str]:
    tmp = world.tmp / "kyeol-tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "KYEOL_TERRAFORM": str(FLAKY_TERRAFORM),
        "FAKE_HELM_PYTHON": world.environ.get("FAKE_HELM_PYTHON") or "python3",
        # Reads fail at RATE; an apply is refused (before it starts) at RATE too.
        "FLAKY_TERRAFORM": json.dumps(
            {"rate": RATE, "mutating": True, "seed": rng.randrange(10**6), "counter": str(world.tmp / "tf-faults")}
        ),
        "KYEOL_CHAOS_AWS": json.dumps({"rate": RATE, "seed": rng.randrange(10**6)}),
        "PYTHONPATH": os.pathsep.join(p for p in (str(HERE / "chaos_site"), world.environ.get("PYTHONPATH", "")) if p),
        "TMPDIR": str(tmp),
    }


def start_and_stop(world: World, command: str, env: dict[str, str], method: str, moment: str, delay: float) -> int:
    args = ("--env", "dev") if command == "deploy" else ()
    running = world.start(command, *args, **env)
    end = time.monotonic() + 300
    armed: float | None = time.monotonic() + delay if moment == "any" else None
    while running.proc.poll() is None and time.monotonic() < end:
        if armed is None:
            word = "terraform" if moment == "terraform" else "fake_helm.py"
            if running_program(running.proc.pid, word):
                armed = time.monotonic() + delay / 20  # inside the run, within a couple of seconds
        if armed is not None and time.monotonic() >= armed:
            return stop(running, method)
        time.sleep(0.05)
    if running.proc.poll() is None:
        return stop(running, "kill tree")
    return running.proc.returncode


def test_kills_and_faults_at_every_boundary_end_in_the_undisturbed_world(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print(f"\nchaos seed {SEED} ({KILLS} stops; KYEOL_CHAOS_SEED={SEED} replays it)")
    rng = random.Random(SEED)
    env = chaos_env(world, rng)
    world.mgmt.chaos(RATE, seed=rng.randrange(10**6), lose_rate=RATE)
    world.dev.chaos(RATE, seed=rng.randrange(10**6), lose_rate=RATE)
    world.github.chaos(RATE, seed=rng.randrange(10**6))
    world.github.lose_dispatch_answers(1)
    world.helm.configure(delay_s=2)  # helm's wait: the release is pending-install meanwhile
    # A dispatched run finishes (and pushes the images) on GitHub's clock, whether anyone
    # polls it or not: a kyeol killed right after dispatching never sees it again.
    world.github.default_script = world.run_script(complete_after_s=3)

    command, stops = "deploy", []
    for _ in range(KILLS):
        method, moment, delay = rng.choice(METHODS), rng.choice(MOMENTS), rng.uniform(0.3, 40.0)
        code = start_and_stop(world, command, env, method, moment, delay)
        stops.append((command, method, moment, round(delay, 1), code))
        assert_files_valid(world)
        if code == 1 and world.state.exists():
            world.run_imports()
        if code == 0:
            break
        command = "resume" if world.state.exists() and world.state_doc().get("last_run") else "deploy"

    results = []
    for _ in range(MAX_RESUMES):
        args = ("--env", "dev") if command == "deploy" else ()
        result = world.kyeol(command, *args, timeout=900, **env)
        results.append(result)
        assert_files_valid(world)
        if result.code == 0:
            break
        world.run_imports()
        command = "resume"
    report = f"seed {SEED}; stops {stops}; last {results[-1]!r}" if results else f"seed {SEED}; stops {stops}"
    with capsys.disabled():
        print(f"chaos seed {SEED}: stops (command, how, when, delay s, exit) {stops}; then {[r.code for r in results]}")
    assert results and results[-1].code == 0, report

    doc = world.state_doc()
    assert {sid: doc["steps"][sid]["status"] for sid in STEP_IDS} == dict.fromkeys(STEP_IDS, "done"), report
    assert_undisturbed_world(world, report)

    # A later deploy (faults off) changes nothing.
    for api in (world.mgmt, world.dev):
        api.chaos(0.0, seed=0)
    world.github.chaos(0.0, seed=0)
    again = world.kyeol("deploy", "--env", "dev", TMPDIR=env["TMPDIR"])
    assert again.code == 0, again
    last = world.reports()[-1]
    assert {s["outcome"] for s in last["steps"]} == {"unchanged"} and not any(s["changed"] for s in last["steps"]), report
    assert_no_secret_on_disk(Path(env["TMPDIR"]), report)


def assert_undisturbed_world(world: World, report: str) -> None:
    region = DEV.region
    s3 = boto3.client("s3", region_name=region, endpoint_url=world.moto)
    # The state bucket (bootstrap) and the audit trail's bucket (the account baseline), once each.
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == [
        "jung-kyeol-audit-123456789012",
        "jung-kyeol-tfstate-123456789012",
    ], report
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=world.moto)
    assert dynamodb.list_tables()["TableNames"] == ["jung-kyeol-tflock"], report
    eks = boto3.client("eks", region_name=region, endpoint_url=world.moto)
    assert sorted(eks.list_clusters()["clusters"]) == sorted(["jung-mgmt-eks", DEV.cluster_name]), report
    for cluster in eks.list_clusters()["clusters"]:
        assert len(eks.list_nodegroups(clusterName=cluster)["nodegroups"]) == 1, (cluster, report)
    rds = boto3.client("rds", region_name=region, endpoint_url=world.moto)
    assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == ["jung-dev-saleor"], report
    ecr = boto3.client("ecr", region_name=region, endpoint_url=world.moto)
    assert len(ecr.describe_repositories()["repositories"]) == 3, report

    # One sync, one dispatch, one deployed helm release.
    assert [op["sync"]["revision"] for op in world.argo.operations_seen] == [world.revision], report
    assert len(world.github.dispatches) == 1, report
    assert world.helm.releases()["argocd/argocd"]["status"] == "deployed", report

    # No lock left: kyeol's, Terraform's (S3 lock files, DynamoDB lock items, local lock).
    assert not world.state.with_name(world.state.name + ".lock").exists(), report
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="jung-kyeol-tfstate-123456789012").get("Contents", [])]
    assert not [k for k in keys if k.endswith(".tflock")], (keys, report)
    items = [i["LockID"]["S"] for i in dynamodb.scan(TableName="jung-kyeol-tflock")["Items"]]
    assert all(i.endswith("-md5") for i in items), (items, report)
    assert not (world.infra / "envs/bootstrap/.terraform.tfstate.lock.info").exists(), report

    # Every root's state is complete: a plan of it (as kyeol runs it) finds nothing to do.
    outputs = world.state_doc()["steps"]["mgmt.registry"]["outputs"]
    variables = {"envs/dev": ["-var", "mgmt_nat_cidrs=" + json.dumps(sorted(f"{ip}/32" for ip in outputs["nat_public_ips"]))]}
    for root in ROOTS:
        plan = subprocess.run(
            [
                "terraform",
                f"-chdir={world.infra / root}",
                "plan",
                "-input=false",
                "-no-color",
                "-detailed-exitcode",
                "-lock=false",
                *variables.get(root, []),
            ],
            env=world.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert plan.returncode == 0, (root, plan.stdout[-3000:], plan.stderr[-2000:], report)


def assert_no_secret_on_disk(tmp: Path, report: str) -> None:
    left = sorted(str(p) for p in tmp.rglob("*") if p.name.startswith("kyeol-") or p.suffix == ".tfplan")
    assert not left, (left, report)
