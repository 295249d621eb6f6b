"""The Kubernetes API stand-in behaves like kube-apiserver where kyeol relies on it (raw HTTPS,
independent of kyeol's client)."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from runbook.clock import FakeClock
from tests.standins.fake_kube_api import (
    AppBehaviour,
    ArgoCdController,
    CreateWhenPresent,
    EndpointsBecomeReady,
    FakeKubeAPI,
    eks_token_problem,
    parse_label_selector,
)

PRESIGNED = (
    "https://sts.ap-northeast-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=testing%2F20260101%2Fap-northeast-1%2Fsts%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc123"
)
TOKEN = "k8s-aws-v1." + base64.urlsafe_b64encode(PRESIGNED.encode()).decode().rstrip("=")


@pytest.fixture
def api():
    with FakeKubeAPI(clock=FakeClock()) as server:
        yield server


def call(
    api: FakeKubeAPI, method: str, path: str, body: Any = None, *, content_type: str = "application/json", token: str = TOKEN
) -> tuple[int, Any]:
    context = ssl.create_default_context(cadata=api.ca_pem.decode())
    req = urllib.request.Request(api.url + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=context, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def apply(api: FakeKubeAPI, path: str, obj: dict[str, Any], manager: str = "kyeol", force: bool = False) -> tuple[int, Any]:
    query = f"?fieldManager={manager}" + ("&force=true" if force else "")
    return call(api, "PATCH", path + query, obj, content_type="application/apply-patch+yaml")


def secret(name: str = "s", **fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default", **fields.pop("metadata", {})},
        **fields,
    }


def test_the_certificate_is_verified_against_the_served_ca(api: FakeKubeAPI) -> None:
    other = ssl.create_default_context()  # system CAs only: the trustme CA is not among them
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(api.url + "/version", context=other, timeout=10)
    assert call(api, "GET", "/version")[1]["gitVersion"].startswith("v1.33")


def test_only_presigned_sts_tokens_are_accepted(api: FakeKubeAPI) -> None:
    assert eks_token_problem(TOKEN) is None
    assert call(api, "GET", "/api/v1", token="")[0] == 401
    assert call(api, "GET", "/api/v1", token="k8s-aws-v1.bm90LWEtdXJs")[0] == 401
    unsigned_header = PRESIGNED.replace("host%3Bx-k8s-aws-id", "host")
    assert "x-k8s-aws-id" in eks_token_problem("k8s-aws-v1." + base64.urlsafe_b64encode(unsigned_header.encode()).decode())
    too_long = PRESIGNED.replace("X-Amz-Expires=60", "X-Amz-Expires=900")
    assert "expires" in eks_token_problem("k8s-aws-v1." + base64.urlsafe_b64encode(too_long.encode()).decode())
    status, body = call(api, "GET", "/api/v1")
    assert status == 200 and any(r["kind"] == "Secret" for r in body["resources"])


def test_server_side_apply_creates_merges_and_bumps_resource_version_only_on_change(api: FakeKubeAPI) -> None:
    path = "/api/v1/namespaces/default/secrets/s"
    status, created = apply(api, path, secret(stringData={"k": "v"}, metadata={"labels": {"a": "1"}}))
    assert status == 201
    assert created["data"] == {"k": base64.b64encode(b"v").decode()} and "stringData" not in created
    rv = created["metadata"]["resourceVersion"]
    assert (
        apply(api, path, secret(stringData={"k": "v"}, metadata={"labels": {"a": "1"}}))[1]["metadata"]["resourceVersion"] == rv
    )
    status, updated = apply(api, path, secret(stringData={"k": "v"}, metadata={"labels": {"a": "2"}}))
    assert status == 200 and int(updated["metadata"]["resourceVersion"]) > int(rv)
    # A field the manager stops applying is removed; another manager's fields stay.
    apply(api, path, secret(metadata={"annotations": {"team": "x"}}), manager="other")
    _, trimmed = apply(api, path, secret(stringData={"k": "v"}))
    assert "labels" not in trimmed["metadata"] and trimmed["metadata"]["annotations"] == {"team": "x"}


def test_apply_conflicts_are_409_status_unless_forced(api: FakeKubeAPI) -> None:
    path = "/api/v1/namespaces/default/configmaps/c"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    apply(api, path, {**cm, "data": {"x": "1"}}, manager="helm")
    status, body = apply(api, path, {**cm, "data": {"x": "2"}})
    assert status == 409 and body["kind"] == "Status" and body["reason"] == "Conflict"
    assert 'conflict with "helm"' in body["message"] and ".data.x" in body["message"]
    assert apply(api, path, {**cm, "data": {"x": "1"}})[0] == 200  # same value: no conflict
    assert apply(api, path, {**cm, "data": {"x": "2"}}, force=True)[1]["data"] == {"x": "2"}
    assert apply(api, path, {**cm, "data": {"x": "3"}}, manager="kyeol")[0] == 200  # kyeol owns it now


def test_missing_objects_and_namespaces_are_404_status(api: FakeKubeAPI) -> None:
    status, body = call(api, "GET", "/api/v1/namespaces/default/secrets/nope")
    assert (status, body["reason"], body["message"]) == (404, "NotFound", 'secrets "nope" not found')
    status, body = apply(api, "/api/v1/namespaces/ghost/secrets/s", {**secret(), "metadata": {"name": "s", "namespace": "ghost"}})
    assert status == 404 and body["message"] == 'namespaces "ghost" not found'
    assert (
        call(api, "GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/x")[1]["message"]
        == 'applications.argoproj.io "x" not found'
    )
    assert call(api, "DELETE", "/api/v1/namespaces/default/secrets/nope")[0] == 404


def test_without_argocd_crds_the_group_is_not_served() -> None:
    with FakeKubeAPI(argocd_crds=False) as api:
        assert call(api, "GET", "/apis/argoproj.io/v1alpha1")[0] == 404
        assert call(api, "GET", "/apis/apps/v1")[0] == 200


def test_label_selectors_filter_lists(api: FakeKubeAPI) -> None:
    for name, labels in (("a", {"env": "dev", "tier": "x"}), ("b", {"env": "prod"}), ("c", {})):
        api.put(secret(name, metadata={"labels": labels}))

    def names(selector: str) -> list[str]:
        return [
            i["metadata"]["name"]
            for i in call(api, "GET", f"/api/v1/namespaces/default/secrets?labelSelector={selector}")[1]["items"]
        ]

    assert names("env%3Ddev") == ["a"]
    assert names("env%21%3Ddev") == ["b", "c"]
    assert names("env%20in%20(dev,prod),!tier") == ["b"]
    assert names("tier") == ["a"]
    labels = {"kyeol.io/env": "dev"}
    assert all(req(labels) for req in parse_label_selector("kyeol.io/env=dev"))


def test_injected_faults_answer_the_next_requests(api: FakeKubeAPI) -> None:
    api.fail_next(2, status=503)
    assert [call(api, "GET", "/api/v1")[0] for _ in range(3)] == [503, 503, 200]
    api.auth_mode = "forbid"
    assert call(api, "GET", "/api/v1")[0] == 403


def test_merge_patch_and_status_subresource(api: FakeKubeAPI) -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 9},
    }
    _, created = apply(api, "/apis/apps/v1/namespaces/default/deployments/d", dep)
    assert "status" not in created  # status is a subresource: apply leaves it alone
    _, patched = call(
        api,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/d/status",
        {"status": {"readyReplicas": 2}},
        content_type="application/merge-patch+json",
    )
    assert patched["status"] == {"readyReplicas": 2} and patched["metadata"]["generation"] == 1
    _, patched = call(
        api,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/d",
        {"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )
    assert patched["spec"]["replicas"] == 3 and patched["metadata"]["generation"] == 2


def test_argocd_controller_syncs_on_an_operation_and_children_appear_under_the_root(api: FakeKubeAPI) -> None:
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    child = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "c-dev", "namespace": "argocd", "labels": {"kyeol.io/env": "dev"}},
        "spec": {},
    }
    api.add_controller(CreateWhenPresent(("argoproj.io/v1alpha1", "Application", "root", "argocd"), [child]))
    hooks = ({"kind": "Job", "name": "migrate", "hookType": "PreSync", "hookPhase": "Succeeded"},)
    controller = api.add_controller(
        ArgoCdController(revision="a" * 40, default=AppBehaviour(auto_sync=False, hooks=hooks, converge_after_reads=2))
    )
    path = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
    apply(
        api,
        f"{path}/root",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "root", "namespace": "argocd"},
            "spec": {"source": {"targetRevision": "main"}},
        },
    )
    assert call(api, "GET", f"{path}?labelSelector=kyeol.io%2Fenv%3Ddev")[1]["items"][0]["metadata"]["name"] == "c-dev"
    assert call(api, "GET", f"{path}/root")[1]["status"]["sync"]["status"] == "OutOfSync"
    call(
        api, "PATCH", f"{path}/root", {"operation": {"sync": {"revision": "b" * 40}}}, content_type="application/merge-patch+json"
    )
    phases = [call(api, "GET", f"{path}/root")[1]["status"]["operationState"]["phase"] for _ in range(3)]
    assert phases == ["Running", "Running", "Succeeded"]
    final = call(api, "GET", f"{path}/root")[1]
    assert "operation" not in final and final["status"]["sync"] == {
        "status": "Synced",
        "revision": "b" * 40,
        "comparedTo": {"source": {"targetRevision": "main"}},
    }
    assert final["status"]["operationState"]["syncResult"]["resources"][0]["hookPhase"] == "Succeeded"
    assert controller.operations_seen == [{"sync": {"revision": "b" * 40}}]
    api.degrade_application("root", resource={"kind": "Deployment", "namespace": "saleor", "name": "api"}, message="crash loop")
    degraded = call(api, "GET", f"{path}/root")[1]["status"]
    assert degraded["health"]["status"] == "Degraded" and degraded["resources"][-1]["health"]["message"] == "crash loop"


def test_endpoints_become_ready_after_reads(api: FakeKubeAPI) -> None:
    api.add_controller(EndpointsBecomeReady("kube-system", "webhook", ready_after_reads=2))
    path = "/api/v1/namespaces/kube-system/endpoints/webhook"
    subsets = [call(api, "GET", path)[1]["subsets"][0] for _ in range(3)]
    assert ["addresses" in s for s in subsets] == [False, False, True]


def test_ingresses_are_served_and_a_direct_apply_owns_its_fields(api: FakeKubeAPI) -> None:
    path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web"
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default", "labels": {"x": "1"}, "annotations": {"a": "git", "b": "git"}},
        "spec": {"ingressClassName": "alb"},
    }
    assert any(r["kind"] == "Ingress" and r["namespaced"] for r in call(api, "GET", "/apis/networking.k8s.io/v1")[1]["resources"])
    api.apply(ingress, "argocd-controller")  # as a controller would, without HTTP
    assert call(api, "GET", "/apis/networking.k8s.io/v1/namespaces/default/ingresses?labelSelector=x%3D1")[1]["items"][0][
        "spec"
    ] == {"ingressClassName": "alb"}
    mine = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default", "annotations": {"a": "live"}},
    }
    status, body = apply(api, path, mine, manager="kyeol-origin-verify")
    assert status == 409 and 'conflict with "argocd-controller"' in body["message"]
    _, forced = apply(api, path, mine, manager="kyeol-origin-verify", force=True)
    assert forced["metadata"]["annotations"] == {"a": "live", "b": "git"} and forced["spec"] == {"ingressClassName": "alb"}


def test_an_object_with_finalizers_is_only_marked_until_the_last_one_is_removed(api: FakeKubeAPI) -> None:
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd", "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
    }
    api.put(app)
    path = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/a"
    status, body = call(api, "DELETE", path)
    assert status == 200 and body["metadata"]["deletionTimestamp"]
    assert call(api, "DELETE", path)[0] == 200  # deleting again changes nothing
    assert api.get("argoproj.io/v1alpha1", "Application", "a", "argocd")["metadata"]["deletionTimestamp"]
    patch = call(api, "PATCH", path, {"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
    assert patch[0] == 200
    assert api.get("argoproj.io/v1alpha1", "Application", "a", "argocd") is None
    assert call(api, "GET", path)[0] == 404
    api.put(secret("plain"))
    assert call(api, "DELETE", "/api/v1/namespaces/default/secrets/plain")[0] == 200
    assert api.get("v1", "Secret", "plain", "default") is None  # no finalizers: gone at once
