"""Helm adapter: the real argv and output handling, against the helm stand-in (an executable)
that talks to the Kubernetes API stand-in through the kubeconfig kyeol writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from runbook.clock import FakeClock
from runbook.errors import PermanentError, TransientError, Unavailable
from runbook.redact import Redactor
from steps.adapters.aws import AwsSession
from steps.adapters.helm import Helm, escape_set_value, go_duration, set_key_path, user_values
from steps.adapters.kube import KubeClient
from steps.adapters.process import ProcessRunner
from steps.wiring.services import redactor_for_kyeol
from tests.standins.fake_helm import FakeHelm
from tests.standins.fake_kube_api import FakeKubeAPI
from tests.standins.kube_world import RecordingLog

ARGO_REPO = "https://argoproj.github.io/argo-helm"
ROLE_KEY = "controller.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn"
ROLE = "arn:aws:iam::123456789012:role/jung-mgmt-argocd-manager"


@pytest.fixture
def api():
    with FakeKubeAPI() as server:
        yield server


@pytest.fixture
def kube(api: FakeKubeAPI) -> KubeClient:
    return KubeClient.for_eks(
        AwsSession("ap-northeast-1"),
        cluster_name=api.name,
        endpoint=api.url,
        ca_data=api.ca_data,
        redactor=Redactor(),
        clock=FakeClock(),
    )


def make_helm(
    fake: FakeHelm, *, dry_run: bool = False, log: RecordingLog | None = None, redactor: Redactor | None = None
) -> Helm:
    env = {**os.environ, **fake.env()}
    runner = ProcessRunner(redactor=redactor or Redactor(), log=log, dry_run=dry_run, base_env=env)
    return Helm(runner, log=log, binary=env["KYEOL_HELM"])


def install(helm: Helm, kube: KubeClient, values: Path, **overrides: object) -> object:
    args = {
        "version": "10.1.1",
        "repo": ARGO_REPO,
        "namespace": "argocd",
        "values_files": [str(values)],
        "set_values": {ROLE_KEY: ROLE},
        "kube_env": kube,
        "timeout": 600.0,
    }
    args.update(overrides)
    return helm.upgrade_install("argocd", "argo-cd", **args)


@pytest.fixture
def values(tmp_path: Path) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(
        yaml.safe_dump(
            {"controller": {"replicas": 1, "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "placeholder"}}}}
        )
    )
    return path


def test_version_and_a_missing_binary(tmp_path: Path) -> None:
    fake = FakeHelm(tmp_path)
    assert make_helm(fake).version() == "v3.17.3"
    missing = Helm(ProcessRunner(base_env={}), binary=str(tmp_path / "no-helm"))
    with pytest.raises(Unavailable) as failed:
        missing.version()
    assert "KYEOL_HELM" in failed.value.hint and "helm.sh" in failed.value.hint


def test_upgrade_install_runs_pinned_atomic_waited_with_the_token_in_its_environment(
    tmp_path: Path, api: FakeKubeAPI, kube: KubeClient, values: Path
) -> None:
    fake, log, redactor = FakeHelm(tmp_path), RecordingLog(), redactor_for_kyeol()
    helm = make_helm(fake, log=log, redactor=redactor)
    assert helm.release("argocd", "argocd", kube) is None
    release = install(helm, kube, values)
    assert (release.chart, release.chart_version, release.app_version, release.status, release.revision) == (
        "argo-cd",
        "10.1.1",
        "v3.4.4",
        "deployed",
        1,
    )
    argv = fake.argvs("upgrade")[0]
    assert argv[:4] == ["upgrade", "--install", "argocd", "argo-cd"]
    for flag, value in (
        ("--repo", ARGO_REPO),
        ("--version", "10.1.1"),
        ("--namespace", "argocd"),
        ("--timeout", "10m0s"),
        ("--values", str(values)),
        ("--set-string", f"{ROLE_KEY}={ROLE}"),
        ("--output", "json"),
    ):
        assert argv[argv.index(flag) + 1] == value
    assert {"--atomic", "--wait", "--create-namespace"} <= set(argv)
    # Issue 10 (7): the token reaches helm in its environment only; no file ever holds it.
    call = fake.calls()[-1]
    assert call["token_from"] == "environment" and "--kubeconfig" not in argv
    assert "k8s-aws-v1." not in open(call["kubeconfig_env"]).read()
    assert not any(a.startswith("k8s-aws-v1.") for a in argv)
    # helm reached the cluster with the kubeconfig's CA and token: it created the namespace and Argo CD.
    assert api.get("v1", "Namespace", "argocd") is not None
    sa = api.get("v1", "ServiceAccount", "argocd-application-controller", "argocd")
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    token = next(iter(api.tokens_seen))
    assert token not in log.text() and redactor.redact(token) == "***"


def test_release_and_values_read_back(tmp_path: Path, kube: KubeClient, values: Path) -> None:
    fake = FakeHelm(tmp_path)
    helm = make_helm(fake)
    install(helm, kube, values, set_values={ROLE_KEY: "a,b=c\\d"})
    assert helm.release("argocd", "argocd", kube).revision == 1
    live = helm.get_values("argocd", "argocd", kube)
    wanted = user_values([yaml.safe_load(values.read_text())], {ROLE_KEY: "a,b=c\\d"})
    assert live == wanted  # a comma, an equals sign and a backslash survive helm's --set parsing
    assert wanted["controller"]["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": "a,b=c\\d"}
    assert install(helm, kube, values).revision == 2


def test_helm_4_rolls_back_with_its_own_flag(tmp_path: Path, kube: KubeClient, values: Path) -> None:
    fake = FakeHelm(tmp_path, version="v4.0.1")
    install(make_helm(fake), kube, values)
    argv = fake.argvs("upgrade")[0]
    assert "--rollback-on-failure" in argv and "--atomic" not in argv


@pytest.mark.parametrize(
    ("message", "error", "words"),
    [
        ("timed out waiting for the condition", PermanentError, "kubectl -n argocd get pods"),
        ("another operation (install/upgrade/rollback) is in progress", PermanentError, "helm rollback argocd"),
        (
            'Kubernetes cluster unreachable: Get "https://x/version": dial tcp: connection refused',
            TransientError,
            "cluster unreachable",
        ),
        (
            'looks like "https://argoproj.github.io/argo-helm" is not a valid chart repository or cannot be reached',
            TransientError,
            "chart repository",
        ),
    ],
)
def test_failures_are_classified_from_helms_message(
    tmp_path: Path, kube: KubeClient, values: Path, message: str, error: type, words: str
) -> None:
    fake = FakeHelm(tmp_path)
    fake.fail("upgrade", message=message)
    with pytest.raises(error) as failed:
        install(make_helm(fake), kube, values)
    assert type(failed.value) is error and message.split(":", maxsplit=1)[0] in failed.value.message
    assert words in (failed.value.hint if error is PermanentError else failed.value.reason)
    assert fake.releases() == {}  # --atomic: a failed first install leaves nothing behind


def test_an_unknown_chart_version_is_permanent(tmp_path: Path, kube: KubeClient, values: Path) -> None:
    with pytest.raises(PermanentError, match='version "9.9.9" not found') as failed:
        install(make_helm(FakeHelm(tmp_path)), kube, values, version="9.9.9")
    assert "pinned chart version" in failed.value.hint


def test_dry_run_runs_no_upgrade(tmp_path: Path, api: FakeKubeAPI, kube: KubeClient, values: Path) -> None:
    fake = FakeHelm(tmp_path)
    writes = api.writes
    assert install(make_helm(fake, dry_run=True), kube, values) is None
    assert fake.argvs("upgrade") == [] and fake.releases() == {} and api.writes == writes


def test_set_helpers() -> None:
    assert set_key_path(ROLE_KEY) == ["controller", "serviceAccount", "annotations", "eks.amazonaws.com/role-arn"]
    assert escape_set_value("a,b\\c") == "a\\,b\\\\c"
    assert go_duration(600) == "10m0s" and go_duration(45) == "45s" and go_duration(90.5) == "1m30s"
    assert user_values([{"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}], {"a.d": "x"}) == {"a": {"b": 1, "c": 3, "d": "x"}}


def test_a_read_that_fails_transiently_is_retried_in_place(tmp_path: Path, api: FakeKubeAPI, kube: KubeClient) -> None:
    """Issue 10 (2): `helm status` meeting an unreachable cluster twice is asked again, here."""
    fake = FakeHelm(tmp_path)
    helm = make_helm(fake)
    fake.fail("status", times=2, message="Kubernetes cluster unreachable: connection refused")
    assert helm.release("argocd", "argocd", kube) is None
    assert len(fake.argvs("status")) == 3
