"""A multi-environment run killed in the middle is finished by `kyeol resume`, through the
real CLI (issue 15): `kyeol deploy --env dev --env stage` gets SIGKILL while both envs' infra
applies are under way (their database seeds made slow), its Terraform children left running
as after a crash; the state says where it was and that the run spans dev and stage; `kyeol
resume` continues that run and both envs end verified, with what is not idempotent done once.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.e2e.world import World

pytestmark = pytest.mark.slow

SHARED = ("bootstrap", "account", "global", "mgmt.registry", "mgmt.infra", "argocd")
CHAIN = ("infra", "register", "addons", "images", "sync", "verify")


@pytest.fixture(scope="module")
def world(moto_server: str, tmp_path_factory: pytest.TempPathFactory, plugin_cache: Path) -> Iterator[World]:
    built = World(tmp_path_factory.mktemp("e2e-multi-resume"), moto_server, plugin_cache=plugin_cache, envs=("dev", "stage"))
    try:
        yield built
    finally:
        built.close()


def test_resume_after_a_kill_in_the_middle_finishes_both_envs(world: World) -> None:
    running = world.start("deploy", "--env", "dev", "--env", "stage", SEED_SLOW=json.dumps({"data": 3}))
    running.wait_until(
        lambda: (
            world.status_of("dev.infra") == "running"
            and world.status_of("stage.infra") == "running"
            and world.seeds("started").count("data") == 2
        ),
        "both envs' database seeds under way",
        timeout=240,
    )
    running.signal(signal.SIGKILL)
    running.wait()
    doc = world.state_doc()  # valid JSON, saying where the run was
    assert doc["last_run"]["env"] == "dev,stage" and doc["last_run"]["status"] == "running"
    assert doc["steps"]["dev.infra"]["status"] == doc["steps"]["stage.infra"]["status"] == "running"
    assert "dev.verify" not in doc["steps"] or doc["steps"]["dev.verify"]["status"] != "done"

    resumed = world.kyeol("resume", timeout=600)
    assert resumed.code == 0, resumed
    report = world.reports()[-1]
    assert report["command"] == "resume" and report["env"] == "dev,stage" and report["failed_scopes"] == []
    every = [*SHARED, *(f"{e}.{s}" for e in ("dev", "stage") for s in CHAIN)]
    assert sorted(s["id"] for s in report["steps"]) == sorted(every)
    doc = world.state_doc()
    assert {sid: doc["steps"][sid]["status"] for sid in every} == dict.fromkeys(every, "done")
    assert doc["steps"]["dev.verify"]["outputs"]["verified"] is True
    assert doc["steps"]["stage.verify"]["outputs"]["verified"] is True
    # What is not idempotent by nature happened once: one Argo CD install; each env has one
    # database (the killed applies' seeds may run again on resume: they get-or-create).
    assert len(world.helm.argvs("upgrade")) == 1 and world.seeds().count("bootstrap") == 1
    rds = boto3.client("rds", region_name="ap-northeast-1", endpoint_url=world.moto)
    assert sorted(d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]) == [
        "jung-dev-saleor",
        "jung-stage-saleor",
    ]
    verify = world.kyeol("verify", "--env", "dev", "--env", "stage")
    assert verify.code == 0 and "all verified: dev, stage" in verify.stdout, verify
