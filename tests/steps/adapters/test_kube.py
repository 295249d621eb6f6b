"""KubeClient: the real ``kubernetes`` client against the Kubernetes API stand-in over HTTPS."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from runbook.clock import FakeClock
from runbook.errors import PermanentError, TransientError
from runbook.redact import Redactor
from steps.adapters.aws import AwsSession
from steps.adapters.kube import (
    TOKEN_REFRESH_AFTER_S,
    ApplicationState,
    KubeClient,
    KubeConflict,
    KubeNotFound,
    carries,
    presign_eks_token,
    workload_readiness,
)
from tests.standins.fake_kube_api import FakeKubeAPI, eks_token_problem
from tests.standins.kube_world import RecordingLog

CLUSTER = "jung-mgmt-eks"


@pytest.fixture
def api():
    with FakeKubeAPI(name=CLUSTER) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client(
    api: FakeKubeAPI, clock: FakeClock, *, redactor: Redactor | None = None, log: Any = None, ca_data: str | None = None
) -> KubeClient:
    return KubeClient.for_eks(
        AwsSession("ap-northeast-1"),
        cluster_name=CLUSTER,
        endpoint=api.url,
        ca_data=ca_data or api.ca_data,
        redactor=redactor if redactor is not None else Redactor(),
        clock=clock,
        log=log,
    )


def secret(name: str = "s", namespace: str = "default", **fields: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, **fields.pop("metadata", {})}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, **fields}


# -- authentication ------------------------------------------------------------------------


def test_the_token_is_a_presigned_get_caller_identity_url_for_the_cluster() -> None:
    sts = AwsSession("ap-northeast-1").client("sts")
    token = presign_eks_token(sts, "jung-dev-eks")
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    raw = token[len("k8s-aws-v1.") :]
    url = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.netloc == "sts.ap-northeast-1.amazonaws.com"
    assert query["Action"] == "GetCallerIdentity" and query["X-Amz-Expires"] == "60"
    assert query["X-Amz-SignedHeaders"].split(";") == ["host", "x-k8s-aws-id"]
    assert eks_token_problem(token) is None
    # The header is signed, not sent as a parameter: a plain GetCallerIdentity is unaffected.
    assert "x-k8s-aws-id" not in query and sts.generate_presigned_url("get_caller_identity").count("x-k8s-aws-id") == 0


def test_every_request_carries_a_fresh_token_that_is_never_logged(
    api: FakeKubeAPI, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    redactor, log = Redactor(), RecordingLog()
    kube = client(api, clock, redactor=redactor, log=log)
    caplog.set_level(logging.DEBUG)
    api.fail_next(1)  # one retry, so the adapter logs something
    kube.apply(secret(stringData={"k": "v"}))
    assert api.tokens_seen and all(t.startswith("k8s-aws-v1.") for t in api.tokens_seen)
    token = next(iter(api.tokens_seen))
    assert redactor.redact(f"Authorization: Bearer {token}") == "Authorization: Bearer ***"
    assert log.events and token not in log.text() and token not in caplog.text
    assert token not in repr(kube)


def test_the_token_is_made_again_before_it_expires(api: FakeKubeAPI, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    import steps.adapters.kube as kube_module

    real = kube_module.presign_eks_token
    monkeypatch.setattr(kube_module, "presign_eks_token", lambda sts, name: made.append(name) or real(sts, name))
    kube = client(api, clock)
    kube.get("v1", "Secret", "a", "default")
    kube.get("v1", "Secret", "b", "default")
    assert made == [CLUSTER]
    clock.advance(TOKEN_REFRESH_AFTER_S)
    kube.get("v1", "Secret", "c", "default")
    assert made == [CLUSTER, CLUSTER]


def test_401_and_403_are_permanent_with_an_access_entry_hint(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    api.auth_mode = "deny"
    with pytest.raises(PermanentError) as denied:
        kube.get("v1", "Secret", "s", "default")
    assert "401" in denied.value.message and "access entry" in denied.value.hint
    api.auth_mode = "forbid"
    before = len(api.requests)
    with pytest.raises(PermanentError) as forbidden:
        kube.apply(secret())
    assert "403" in forbidden.value.message and "AmazonEKSClusterAdminPolicy" in forbidden.value.hint
    assert len(api.requests) - before == 1  # not retried


def test_tls_is_verified_against_the_recorded_ca(api: FakeKubeAPI, clock: FakeClock) -> None:
    stranger = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    kube = client(api, clock, ca_data=stranger)
    with pytest.raises(PermanentError, match="TLS verification") as failed:
        kube.get("v1", "Secret", "s", "default")
    assert "CA data" in failed.value.hint and not api.requests
    with pytest.raises(PermanentError, match="not base64"):
        client(api, clock, ca_data="%%%")
    with pytest.raises(PermanentError, match="https://"):
        KubeClient(name="x", endpoint="http://127.0.0.1:1", ca_data=api.ca_data, token=lambda: "t")


# -- server-side apply ---------------------------------------------------------------------


def test_server_side_apply_creates_then_updates(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    created = kube.apply(secret(stringData={"config": "{}"}, metadata={"labels": {"a": "1"}}))
    request = api.requests_matching("PATCH", "/secrets/s")[-1]
    assert request.content_type == "application/apply-patch+yaml"
    assert request.query == {"fieldManager": "kyeol"}  # no force unless asked for
    first = created["metadata"]["resourceVersion"]
    again = kube.apply(secret(stringData={"config": "{}"}, metadata={"labels": {"a": "1"}}))
    assert again["metadata"]["resourceVersion"] == first  # nothing changed, nothing written
    updated = kube.apply(secret(stringData={"config": "{}"}, metadata={"labels": {"a": "2"}}))
    assert int(updated["metadata"]["resourceVersion"]) > int(first)
    assert kube.get("v1", "Secret", "s", "default")["metadata"]["labels"] == {"a": "2"}


def test_a_conflict_with_another_field_manager_is_409_unless_forced(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    kube.apply(secret(metadata={"labels": {"owner": "helm"}}), field_manager="helm")
    with pytest.raises(KubeConflict) as conflict:
        kube.apply(secret(metadata={"labels": {"owner": "kyeol"}}))
    assert 'conflict with "helm"' in conflict.value.message and ".metadata.labels.owner" in conflict.value.message
    assert "field manager" in conflict.value.hint
    forced = kube.apply(secret(metadata={"labels": {"owner": "kyeol"}}), force=True)
    assert forced["metadata"]["labels"] == {"owner": "kyeol"}
    assert api.requests_matching("PATCH", "/secrets/s")[-1].query == {"fieldManager": "kyeol", "force": "true"}


def test_absent_objects_read_as_none_and_writes_to_them_are_not_found(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    assert kube.get("v1", "Secret", "nope", "default") is None
    assert kube.status("argoproj.io/v1alpha1", "Application", "nope", "argocd") is None
    with pytest.raises(KubeNotFound, match='namespaces "argocd" not found'):
        kube.apply(secret(namespace="argocd"))
    with pytest.raises(KubeNotFound):
        kube.merge_patch("v1", "Secret", "nope", "default", {"metadata": {"labels": {"a": "b"}}})


def test_a_kind_the_server_does_not_serve_is_permanent_with_a_crd_hint(clock: FakeClock) -> None:
    with FakeKubeAPI(argocd_crds=False) as bare:
        kube = client(bare, clock)
        app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a", "namespace": "default"}}
        with pytest.raises(PermanentError, match="does not serve Application") as failed:
            kube.apply(app)
        assert "CustomResourceDefinition" in failed.value.hint


# -- transient failures --------------------------------------------------------------------


def test_a_503_is_retried_on_the_injected_clock(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    kube.apply(secret())
    api.fail_next(1, status=503)
    assert kube.get("v1", "Secret", "s", "default")["metadata"]["name"] == "s"
    assert [r.status for r in api.requests[-2:]] == [503, 200]
    assert clock.sleeps and clock.sleeps[-1] > 0  # backed off without really sleeping


def test_persistent_5xx_and_429_end_as_transient_errors_naming_the_status(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    kube.list("v1", "Secret", "default")  # discovery done
    api.fail_next(3, status=503)
    with pytest.raises(TransientError) as unavailable:
        kube.list("v1", "Secret", "default")
    assert unavailable.value.reason == "kubernetes api http 503"
    assert [r.status for r in api.requests[-3:]] == [503, 503, 503]  # the adapter's attempts, then the engine's turn
    assert kube.list("v1", "Secret", "default") == []
    api.fail_next(3, status=429, message="too many requests")
    with pytest.raises(TransientError, match="HTTP 429"):
        kube.get("v1", "Secret", "s", "default")


def test_a_refused_connection_is_transient(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    api.stop()
    with pytest.raises(TransientError) as refused:
        kube.get("v1", "Secret", "s", "default")
    assert refused.value.reason.startswith("connection error")
    # If it never connects, the likeliest cause is the endpoint's allow-list: say where it is set.
    hint = refused.value.hint
    assert "operator_cidrs" in hint and "publicAccessCidrs" in hint and kube.name in hint


# -- reads -----------------------------------------------------------------------------------


def test_lists_filter_by_label_and_endpoints_readiness_is_read(api: FakeKubeAPI, clock: FakeClock) -> None:
    kube = client(api, clock)
    kube.apply(secret("a", metadata={"labels": {"kyeol.io/env": "dev"}}))
    kube.apply(secret("b", metadata={"labels": {"kyeol.io/env": "prod"}}))
    assert [s["metadata"]["name"] for s in kube.list("v1", "Secret", "default", "kyeol.io/env=dev")] == ["a"]
    assert kube.endpoints_ready("kube-system", "webhook") == (
        False,
        "Endpoints kube-system/webhook do not exist yet on jung-mgmt-eks",
    )
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "webhook", "namespace": "kube-system"}}
    api.put({**ep, "subsets": [{"notReadyAddresses": [{"ip": "10.0.0.1"}]}]})
    assert kube.endpoints_ready("kube-system", "webhook")[0] is False
    api.put({**ep, "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]})
    assert kube.endpoints_ready("kube-system", "webhook") == (True, "Endpoints kube-system/webhook: 1 ready address(es)")
    assert kube.server_version()["gitVersion"] == api.git_version


def test_helm_gets_the_token_in_its_environment_and_no_file_holds_it(api: FakeKubeAPI, clock: FakeClock) -> None:
    """Issue 10 (7): helm's own variables carry the server, a fresh token and the CA file;
    KUBECONFIG names an empty kubeconfig, so no file on disk holds a token."""
    kube = client(api, clock)
    with kube.helm_environment() as env:
        assert env["HELM_KUBEAPISERVER"] == api.url and env["HELM_KUBETOKEN"].startswith("k8s-aws-v1.")
        assert open(env["HELM_KUBECAFILE"]).read().startswith("-----BEGIN CERTIFICATE-----")
        assert "token" not in open(env["KUBECONFIG"]).read()
        for path in Path(env["KUBECONFIG"]).parent.iterdir():
            assert env["HELM_KUBETOKEN"] not in path.read_text()


def test_workload_readiness() -> None:
    dep = {
        "kind": "Deployment",
        "metadata": {"generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2},
    }
    assert workload_readiness(dep, "Deployment", "argocd/argocd-server") == (True, "Deployment argocd/argocd-server: 2/2 ready")
    stale = {**dep, "status": {**dep["status"], "observedGeneration": 1}}
    assert "has not seen generation 2" in workload_readiness(stale, "Deployment", "x")[1]
    waiting = {
        **dep,
        "status": {
            "observedGeneration": 2,
            "readyReplicas": 1,
            "updatedReplicas": 2,
            "conditions": [{"type": "Available", "status": "False", "message": "MinimumReplicasUnavailable"}],
        },
    }
    assert workload_readiness(waiting, "Deployment", "x") == (
        False,
        "Deployment x: 1/2 ready, 2 updated (MinimumReplicasUnavailable)",
    )
    rolling = {
        "kind": "StatefulSet",
        "metadata": {},
        "spec": {},
        "status": {"readyReplicas": 1, "updatedReplicas": 1, "currentRevision": "a", "updateRevision": "b"},
    }
    assert workload_readiness(rolling, "StatefulSet", "x")[0] is False
    assert workload_readiness(None, "StatefulSet", "x") == (False, "StatefulSet x does not exist yet")


def test_application_state_names_failing_resources() -> None:
    app = {
        "metadata": {"name": "saleor-dev"},
        "status": {
            "sync": {"status": "Synced", "revision": "abc"},
            "health": {"status": "Degraded", "message": "one resource is degraded"},
            "resources": [
                {"kind": "ConfigMap", "namespace": "saleor", "name": "cfg", "status": "Synced"},
                {
                    "kind": "Deployment",
                    "namespace": "saleor",
                    "name": "saleor-api",
                    "status": "Synced",
                    "health": {"status": "Degraded", "message": "exceeded its progress deadline"},
                },
            ],
            "operationState": {
                "phase": "Failed",
                "message": "one or more hooks failed",
                "syncResult": {
                    "revision": "abc",
                    "resources": [
                        {
                            "kind": "Job",
                            "namespace": "saleor",
                            "name": "saleor-migrate",
                            "hookType": "PreSync",
                            "hookPhase": "Failed",
                            "message": "Job has reached the specified backoff limit",
                        }
                    ],
                },
            },
        },
    }
    state = ApplicationState(app)
    assert state.operation_failed and not state.settled and state.operation_revision == "abc"
    assert state.failing_resources() == [
        "Deployment saleor/saleor-api Synced/Degraded: exceeded its progress deadline",
        "PreSync hook Job saleor/saleor-migrate Failed: Job has reached the specified backoff limit",
    ]
    assert state.describe().startswith("saleor-dev: Synced/Degraded, one resource is degraded, last operation Failed")
    assert ApplicationState({"metadata": {"name": "x"}, "operation": {"sync": {}}}).operating


def test_carries_compares_only_the_wanted_fields() -> None:
    live = {"metadata": {"name": "a", "uid": "1", "labels": {"x": "1", "y": "2"}}, "spec": {"list": [1, 2]}}
    assert carries(live, {"metadata": {"labels": {"x": "1"}}, "spec": {"list": [1, 2]}})
    assert not carries(live, {"spec": {"list": [1]}})
    assert not carries(live, {"metadata": {"annotations": {}}})
