"""Stand-in for the ``helm`` CLI (helm is not installed on the test machines).

Run through the executable wrapper ``tests/standins/bin/helm``. It answers the commands kyeol
uses, with helm's own output shapes and error texts:

* ``version --short``;
* ``status NAME -n NS -o json`` (``Error: release: not found`` when absent);
* ``list -n NS -o json [--filter RE] [-a]``;
* ``get values NAME -n NS -o json`` (the user-supplied values);
* ``uninstall NAME -n NS [--wait] [--timeout D]`` (the release record goes; issue 10);
* ``upgrade --install NAME CHART --repo URL --version V -n NS [--create-namespace]
  [--atomic | --rollback-on-failure] [--wait] [--timeout D] [-f FILE]... [--set[-string] K=V]...
  [--kubeconfig FILE] [-o json]``.

Every invocation appends its argv as a JSON line to ``$FAKE_HELM_LOG``; releases (name,
namespace, chart, version, values, revision, status) live in the JSON file ``$FAKE_HELM_STATE``.
The state file also scripts failures (``fail``: the next N runs of a command exit 1 with a
message; an ``--atomic`` upgrade then leaves the previous release as it was), how long an
upgrade takes (``delay_s``: meanwhile the release is ``pending-install``/``pending-upgrade``, and
another upgrade is refused, as helm does), and what an install does on the cluster.

An install is honest about the chart: the pinned chart's real source (``tests.charts.source``:
the ``KYEOL_CHART_MIRROR`` folder, or pulled from ``--repo``) is rendered by Helm's own engine
(``helm_python``) with the values helm would compute from ``-f``/``--set-string`` (Helm's
strvals parser), the release name and namespace, and the Kubernetes version the API server
reports. With ``--kubeconfig`` (or helm's ``HELM_KUBEAPISERVER``/``HELM_KUBETOKEN``/
``HELM_KUBECAFILE``, which kyeol uses so no file holds the token) every rendered object (CRDs first; hooks, which helm runs and
deletes, are left out) is server-side applied (field manager ``helm``) to the Kubernetes API
named there, with the kubeconfig's CA and bearer token. The kubelet and controllers are not
modelled: the stand-in then writes the Deployments' and StatefulSets' status — ready or not, as
configured (``workloads_ready``) — so phase 4's readiness checks read the chart's real
workloads (names, labels, replicas).

:class:`FakeHelm` is the test-side handle: environment to pass, recorded calls, releases.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import ssl
import stat
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BINARY = HERE / "bin" / "helm"
if str(HERE.parents[1]) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(HERE.parents[1]))

from tests.charts import source as chart_source  # noqa: E402
from tests.charts.helm_cli import ArgvError, HelmArgs  # noqa: E402

# `helm repo add` names the stand-in knows (kyeol passes --repo URL instead).
REPO_ALIASES = {"argo": "https://argoproj.github.io/argo-helm"}


class HelmExit(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- test-side handle ------------------------------------------------------------------------


class FakeHelm:
    """The fake helm's files in ``directory`` and helpers to script and inspect it."""

    def __init__(
        self, directory: Path, *, version: str = "v3.17.3", workloads: bool = True, workloads_ready: bool = True
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.state_path = directory / "helm-state.json"
        self.log_path = directory / "helm-calls.jsonl"
        self.log_path.write_text("")
        self._write(
            {
                "releases": {},
                "fail": [],
                "config": {"version": version, "workloads": workloads, "workloads_ready": workloads_ready},
            }
        )

    @property
    def binary(self) -> str:
        return str(BINARY)

    def env(self) -> dict[str, str]:
        return {
            "KYEOL_HELM": str(BINARY),
            "FAKE_HELM_STATE": str(self.state_path),
            "FAKE_HELM_LOG": str(self.log_path),
            "FAKE_HELM_PYTHON": sys.executable,
        }

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def argvs(self, command: str | None = None) -> list[list[str]]:
        found = [c["argv"] for c in self.calls()]
        return [a for a in found if command is None or a[:1] == [command]]

    def releases(self) -> dict[str, Any]:
        return self._read()["releases"]

    def fail(self, command: str, *, times: int = 1, message: str = "timed out waiting for the condition") -> None:
        state = self._read()
        state["fail"].append({"command": command, "times": times, "message": message})
        self._write(state)

    def configure(self, **config: Any) -> None:
        state = self._read()
        state["config"].update(config)
        self._write(state)

    def seed_release(
        self, name: str, namespace: str, *, chart: str, version: str, values: dict[str, Any], status: str = "deployed"
    ) -> None:
        state = self._read()
        app_version = _app_version(chart, version)
        state["releases"][f"{namespace}/{name}"] = {
            "name": name,
            "namespace": namespace,
            "chart": chart,
            "version": version,
            "app_version": app_version,
            "values": values,
            "revision": 1,
            "status": status,
            "description": "Install complete",
        }
        self._write(state)

    def _read(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def _write(self, state: dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state, indent=1))


# -- the executable --------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_HELM_STATE"])
    state = json.loads(state_path.read_text())
    before = json.dumps(state, sort_keys=True)
    try:
        args = HelmArgs.parse(argv)
    except ArgvError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    _record(argv, args)
    try:
        out = _dispatch(args, state)
    except HelmExit as exc:
        print(f"Error: {exc}", file=sys.stderr)
        if json.dumps(state, sort_keys=True) != before:
            _save(state_path, state)
        return exc.code
    if json.dumps(state, sort_keys=True) != before:  # reads write nothing (a running upgrade may)
        _save(state_path, state)
    if out:
        print(out)
    return 0


def _record(argv: list[str], args: HelmArgs) -> None:
    kubeconfig = args.one("--kubeconfig")
    entry: dict[str, Any] = {"argv": argv}
    if kubeconfig and os.path.exists(kubeconfig):
        entry["kubeconfig_mode"] = oct(stat.S_IMODE(os.stat(kubeconfig).st_mode))
    if os.environ.get("HELM_KUBETOKEN"):
        entry["token_from"] = "environment"
        entry["kubeconfig_env"] = os.environ.get("KUBECONFIG", "")
    with open(os.environ["FAKE_HELM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def _dispatch(args: HelmArgs, state: dict[str, Any]) -> str:
    config = state["config"]
    command = args.positional[:1]
    major = int(config["version"].lstrip("v").split(".")[0])
    if args.has("--rollback-on-failure") and major < 4:
        raise HelmExit("unknown flag: --rollback-on-failure")
    if args.has("--atomic") and major >= 4:
        print("Flag --atomic has been deprecated, use --rollback-on-failure instead", file=sys.stderr)
    if command == ["version"]:
        return f"{config['version']}+g0a1b2c3" if args.has("--short") else f'version.BuildInfo{{Version:"{config["version"]}"}}'
    _check_failures(args, state)
    if command == ["uninstall"]:
        return _uninstall(args, state)
    namespace = args.one("-n", "--namespace", default="default")
    if command == ["status"]:
        release = _release(state, args.positional[1], namespace)
        _want_json(args)
        return json.dumps(_status_json(release))
    if command == ["list"]:
        _want_json(args)
        pattern = re.compile(args.one("--filter", default=".*"))
        shown = [r for r in state["releases"].values() if r["namespace"] == namespace and pattern.search(r["name"])]
        if not args.has("-a") and not args.has("--all"):
            shown = [r for r in shown if r["status"] in ("deployed", "failed")]
        return json.dumps(
            [
                {
                    "name": r["name"],
                    "namespace": r["namespace"],
                    "revision": str(r["revision"]),
                    "updated": "2026-01-01 00:00:00 +0000 UTC",
                    "status": r["status"],
                    "chart": f"{r['chart']}-{r['version']}",
                    "app_version": r["app_version"],
                }
                for r in shown
            ]
        )
    if args.positional[:2] == ["get", "values"]:
        release = _release(state, args.positional[2], namespace)
        _want_json(args)
        return json.dumps(release["values"] or None)
    if command == ["upgrade"]:
        return _upgrade(args, state, namespace)
    raise HelmExit(f'unknown command "{" ".join(args.positional[:2])}" for "helm"')


def _check_failures(args: HelmArgs, state: dict[str, Any]) -> None:
    command = args.positional[0] if args.positional else ""
    for rule in state["fail"]:
        if rule["command"] == command and rule["times"] > 0:
            rule["times"] -= 1
            if command == "upgrade":
                name = args.positional[1] if len(args.positional) > 1 else "?"
                exists = any(r["name"] == name for r in state["releases"].values())
                verb = "UPGRADE FAILED" if exists else "INSTALLATION FAILED"
                raise HelmExit(f"{verb}: {rule['message']}")
            raise HelmExit(rule["message"])


def _want_json(args: HelmArgs) -> None:
    if args.one("-o", "--output") != "json":
        raise HelmExit("the fake helm answers with -o json only")


def _release(state: dict[str, Any], name: str, namespace: str) -> dict[str, Any]:
    release = state["releases"].get(f"{namespace}/{name}")
    if release is None:
        raise HelmExit("release: not found")
    return release


def _status_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": r["name"],
        "namespace": r["namespace"],
        "version": r["revision"],
        "info": {
            "status": r["status"],
            "description": r["description"],
            "first_deployed": "2026-01-01T00:00:00Z",
            "last_deployed": "2026-01-01T00:00:00Z",
            "deleted": "",
            "notes": "",
        },
        "chart": {"metadata": {"name": r["chart"], "version": r["version"], "appVersion": r["app_version"], "apiVersion": "v2"}},
        "config": r["values"],
    }


def _upgrade(args: HelmArgs, state: dict[str, Any], namespace: str) -> str:
    if not args.has("--install"):
        raise HelmExit("the fake helm supports upgrade --install only")
    if len(args.positional) != 3:
        raise HelmExit(f'"helm upgrade" requires 2 arguments (got {args.positional[1:]})')
    name, chart_ref = args.positional[1], args.positional[2]
    chart = _resolve_chart(chart_ref, args.one("--repo"), args.one("--version"))
    timeout = args.one("--timeout", default="5m0s")
    if not re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", timeout) or not timeout:
        raise HelmExit(f'invalid argument "{timeout}" for "--timeout" flag: time: invalid duration "{timeout}"')
    try:
        values = args.values()
    except ArgvError as exc:
        raise HelmExit(str(exc)) from None

    current = state["releases"].get(f"{namespace}/{name}")
    if current is not None and str(current.get("status", "")).startswith("pending-"):
        raise HelmExit("UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress")
    kube = (
        _Kube.from_kubeconfig(args.one("--kubeconfig"))
        if args.has("--kubeconfig")
        else _Kube.from_env()
        if os.environ.get("HELM_KUBEAPISERVER")
        else None
    )
    if kube is not None:
        if args.has("--create-namespace"):
            kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        elif not kube.exists(f"/api/v1/namespaces/{namespace}"):
            raise HelmExit(f'create: failed to create: namespaces "{namespace}" not found')
        if state["config"].get("workloads", True):
            _install_chart(kube, chart, name, namespace, values, ready=state["config"].get("workloads_ready", True))

    key = f"{namespace}/{name}"
    previous = state["releases"].get(key)
    _pending(state, key, name, namespace, chart, previous)
    state["releases"][key] = {
        "name": name,
        "namespace": namespace,
        "chart": chart["name"],
        "version": chart["version"],
        "app_version": chart["app_version"],
        "values": values,
        "revision": (previous["revision"] + 1) if previous else 1,
        "status": "deployed",
        "description": "Upgrade complete" if previous else "Install complete",
    }
    if args.one("-o", "--output") == "json":
        return json.dumps(_status_json(state["releases"][key]))
    return f'Release "{name}" has been {"upgraded" if previous else "installed"}. Happy Helming!'


def _uninstall(args: HelmArgs, state: dict[str, Any]) -> str:
    """helm uninstall: removes the release record (whatever its status, pending-install too)."""
    if len(args.positional) != 2:
        raise HelmExit(f'"helm uninstall" requires 1 argument (got {args.positional[1:]})')
    name, namespace = args.positional[1], args.one("-n", "--namespace", default="default")
    if state["releases"].pop(f"{namespace}/{name}", None) is None:
        raise HelmExit(f"uninstall: Release not loaded: {name}: release: not found")
    return f'release "{name}" uninstalled'


def _pending(
    state: dict[str, Any], key: str, name: str, namespace: str, chart: dict[str, str], previous: dict[str, Any] | None
) -> None:
    """With ``delay_s`` configured, an upgrade takes that long, and meanwhile the release is
    ``pending-install``/``pending-upgrade`` for every other helm call, as helm records it
    before it waits. (A helm killed in this window leaves it pending.)"""
    delay = float(state["config"].get("delay_s") or 0)
    if delay <= 0:
        return
    state["releases"][key] = {
        "name": name,
        "namespace": namespace,
        "chart": chart["name"],
        "version": chart["version"],
        "app_version": chart["app_version"],
        "values": (previous or {}).get("values") or {},
        "revision": (previous["revision"] + 1) if previous else 1,
        "status": "pending-upgrade" if previous else "pending-install",
        "description": "Preparing upgrade" if previous else "Initial install underway",
    }
    _save(Path(os.environ["FAKE_HELM_STATE"]), state)
    time.sleep(delay)


def _save(path: Path, state: dict[str, Any]) -> None:
    """Write the state file atomically: a concurrent helm call reads it whole or not at all."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)


def _resolve_chart(ref: str, repo: str, version: str) -> dict[str, str]:
    """The pinned chart's source (``tests.charts.source``), its name, version and appVersion."""
    name = ref
    if "/" in ref:
        alias, name = ref.split("/", 1)
        if alias not in REPO_ALIASES:
            raise HelmExit(f"repo {alias} not found")
        repo = repo or REPO_ALIASES[alias]
    if not repo:
        raise HelmExit(f'chart "{name}": the stand-in needs --repo URL (kyeol always passes one)')
    if not version:
        raise HelmExit(f'chart "{name}": the stand-in needs --version (kyeol always pins one)')
    try:
        folder = chart_source.chart_dir(name, version, repo)
    except chart_source.ChartUnavailable as exc:
        print(f"fake helm: {exc}", file=sys.stderr)
        raise HelmExit(f'chart "{name}" version "{version}" not found in {repo} repository') from None
    meta = yaml.safe_load((folder / "Chart.yaml").read_text(encoding="utf-8"))
    return {
        "name": str(meta["name"]),
        "version": str(meta["version"]),
        "app_version": str(meta.get("appVersion") or ""),
        "dir": str(folder),
        "repo": repo,
    }


def _app_version(chart: str, version: str) -> str:
    """appVersion of a chart version whose source is at hand ("" when it is not: nothing is pulled)."""
    folder = chart_source.local_chart_dir(chart, version)
    if folder is None:
        return ""
    return str(yaml.safe_load((folder / "Chart.yaml").read_text(encoding="utf-8")).get("appVersion") or "")


class _Kube:
    """Just enough of a Kubernetes client for the fake install: the kubeconfig's server, CA, token."""

    def __init__(self, server: str, ca_pem: bytes, token: str) -> None:
        self.server = server.rstrip("/")
        self.context = ssl.create_default_context(cadata=ca_pem.decode())
        self.token = token

    @classmethod
    def from_env(cls) -> _Kube:
        """helm's own variables (helm v3 pkg/cli/environment.go): HELM_KUBEAPISERVER,
        HELM_KUBETOKEN, HELM_KUBECAFILE — they override whatever a kubeconfig says."""
        token = os.environ.get("HELM_KUBETOKEN", "")
        try:
            ca = Path(os.environ["HELM_KUBECAFILE"]).read_bytes()
        except (KeyError, OSError) as exc:
            raise HelmExit(f"Kubernetes cluster unreachable: HELM_KUBECAFILE: {exc}") from None
        if not token.startswith("k8s-aws-v1."):
            raise HelmExit("Kubernetes cluster unreachable: HELM_KUBETOKEN carries no EKS token")
        return cls(os.environ["HELM_KUBEAPISERVER"], ca, token)

    @classmethod
    def from_kubeconfig(cls, path: str) -> _Kube:
        try:
            doc = yaml.safe_load(Path(path).read_text())
            cluster = doc["clusters"][0]["cluster"]
            user = doc["users"][0]["user"]
            token = user["token"]
            ca = base64.b64decode(cluster["certificate-authority-data"])
        except (OSError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise HelmExit(f"Kubernetes cluster unreachable: invalid kubeconfig {path}: {exc}") from None
        if not str(token).startswith("k8s-aws-v1."):
            raise HelmExit("Kubernetes cluster unreachable: the kubeconfig carries no EKS token")
        return cls(cluster["server"], ca, token)

    def _request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> tuple[int, Any]:
        """One API call, retried as client-go's rest client retries it (k8s.io/client-go
        rest/request.go, ``checkWait``/``maxRetries`` 10): an answer with ``Retry-After`` (429,
        or 5xx) is waited out and sent again, up to 10 times; anything else is the answer."""
        for _ in range(10):
            status, answer, retry_after = self._request_once(method, path, body, content_type)
            if retry_after is None or not (status == 429 or status >= 500):
                return status, answer
            time.sleep(min(float(retry_after), 2.0))
        return status, answer

    def _request_once(self, method: str, path: str, body: Any, content_type: str) -> tuple[int, Any, str | None]:
        """One request on a kept-alive connection (as client-go reuses its transport): an
        install makes ~50 calls, a TLS handshake each would double its time."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type, "Accept": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile is opened again once
            conn = self.__dict__.get("_conn")
            if conn is None:
                parts = urllib.parse.urlsplit(self.server)
                conn = self.__dict__["_conn"] = http.client.HTTPSConnection(
                    parts.hostname, parts.port, context=self.context, timeout=20
                )
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                try:
                    answer = json.loads(payload or b"null")
                except ValueError:
                    answer = None
                return resp.status, answer, (resp.getheader("Retry-After") if resp.status >= 400 else None)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                self.__dict__["_conn"] = None
                if attempt == 2:
                    raise HelmExit(f"Kubernetes cluster unreachable: {exc}") from None
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                self.__dict__["_conn"] = None
                raise HelmExit(f"Kubernetes cluster unreachable: {exc}") from None
        raise AssertionError("unreachable")

    def kube_version(self) -> str:
        """``major.minor`` of the API server (``/version``), as helm reads it for .Capabilities."""
        code, answer = self._request("GET", "/version")
        if code != 200:
            raise HelmExit(f"Kubernetes cluster unreachable: /version answered {code}")
        return f"{answer['major']}.{str(answer['minor']).rstrip('+')}"

    def _plural(self, api_version: str, kind: str) -> str:
        """The resource name of ``kind`` from API discovery, as helm's REST mapper finds it."""
        cache = self.__dict__.setdefault("_discovered", {})
        if api_version not in cache:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            code, answer = self._request("GET", base)
            cache[api_version] = (
                {r["kind"]: r["name"] for r in (answer or {}).get("resources", []) if "/" not in r["name"]} if code == 200 else {}
            )
        plural = cache[api_version].get(kind)
        if plural is None:
            raise HelmExit(
                f'resource mapping not found for kind "{kind}" in version "{api_version}": ensure CRDs are installed first'
            )
        return plural

    def exists(self, path: str) -> bool:
        code, _ = self._request("GET", path)
        return code == 200

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace")
        name = obj["metadata"]["name"]
        base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
        plural = self._plural(obj["apiVersion"], kind)
        where = f"/namespaces/{ns}" if ns else ""
        code, answer = self._request(
            "PATCH", f"{base}{where}/{plural}/{name}?fieldManager=helm&force=true", obj, "application/apply-patch+yaml"
        )
        if code >= 300:
            raise HelmExit(f"failed to create resource: {answer.get('message', code)}")
        return answer

    def patch_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        plural = self._plural(obj["apiVersion"], obj["kind"])
        code, answer = self._request(
            "PATCH",
            f"/apis/{obj['apiVersion']}/namespaces/{ns}/{plural}/{name}/status",
            {"status": status},
            "application/merge-patch+json",
        )
        if code >= 300:
            raise HelmExit(f"failed to update status: {answer.get('message', code)}")


def _install_chart(kube: _Kube, chart: dict[str, str], name: str, namespace: str, values: dict[str, Any], *, ready: bool) -> None:
    """Render the real chart and server-side apply what helm would install; then stand in for
    the controllers that report the workloads' rollout."""
    from tests.charts.render import RenderFailed, render

    try:
        rendered = render(Path(chart["dir"]), values, release=name, namespace=namespace, kube_version=kube.kube_version())
    except RenderFailed as exc:
        raise HelmExit(f"INSTALLATION FAILED: {exc}") from None
    objects = rendered.installed
    ordered = [o for o in objects if o["kind"] == "CustomResourceDefinition"] + [
        o for o in objects if o["kind"] != "CustomResourceDefinition"
    ]
    applied = [kube.apply(obj) for obj in ordered]
    for obj in applied:
        if obj["apiVersion"] == "apps/v1" and obj["kind"] in ("Deployment", "StatefulSet"):
            replicas = obj.get("spec", {}).get("replicas")
            replicas = 1 if replicas is None else int(replicas)
            status = {
                "observedGeneration": int(obj["metadata"].get("generation") or 1),
                "replicas": replicas,
                "readyReplicas": replicas if ready else 0,
                "updatedReplicas": replicas,
                "availableReplicas": replicas if ready else 0,
            }
            if obj["kind"] == "StatefulSet":
                status.update(currentRevision=f"{obj['metadata']['name']}-1", updateRevision=f"{obj['metadata']['name']}-1")
            kube.patch_status(obj, status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
