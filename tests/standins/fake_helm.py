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
another upgrade is refused, as helm does), and what an install does on the cluster: with
``--kubeconfig`` (or helm's ``HELM_KUBEAPISERVER``/``HELM_KUBETOKEN``/``HELM_KUBECAFILE``) it
talks to the Kubernetes API named there
(the fake API in tests) with the kubeconfig's CA and bearer token, creating the namespace and,
for the argo-cd chart, Argo CD's service accounts (with their values' annotations) and
workloads — ready or not, as configured.

:class:`FakeHelm` is the test-side handle: environment to pass, recorded calls, releases.
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import stat
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BINARY = HERE / "bin" / "helm"

CHARTS = {
    "argo-cd": {"repo": "https://argoproj.github.io/argo-helm", "alias": "argo", "versions": {"10.1.1": "v3.4.4", "10.0.2": "v3.3.9"}},
}
# What installing the argo-cd chart (release "argocd", nameOverride "argocd") creates.
ARGO_SERVICE_ACCOUNTS = {
    "controller": "argocd-application-controller",
    "server": "argocd-server",
    "applicationSet": "argocd-applicationset-controller",
}
ARGO_WORKLOADS = (
    ("StatefulSet", "argocd-application-controller"),
    ("Deployment", "argocd-server"),
    ("Deployment", "argocd-repo-server"),
    ("Deployment", "argocd-applicationset-controller"),
    ("Deployment", "argocd-redis"),
)


class HelmExit(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- test-side handle ------------------------------------------------------------------------


class FakeHelm:
    """The fake helm's files in ``directory`` and helpers to script and inspect it."""

    def __init__(self, directory: Path, *, version: str = "v3.17.3", workloads: bool = True, workloads_ready: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.state_path = directory / "helm-state.json"
        self.log_path = directory / "helm-calls.jsonl"
        self.log_path.write_text("")
        self._write({"releases": {}, "fail": [], "config": {"version": version, "workloads": workloads, "workloads_ready": workloads_ready}})

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

    def seed_release(self, name: str, namespace: str, *, chart: str, version: str, values: dict[str, Any], status: str = "deployed") -> None:
        state = self._read()
        app_version = CHARTS.get(chart, {}).get("versions", {}).get(version, "")
        state["releases"][f"{namespace}/{name}"] = {
            "name": name, "namespace": namespace, "chart": chart, "version": version, "app_version": app_version,
            "values": values, "revision": 1, "status": status, "description": "Install complete",
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
    args = _Args(argv)
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


class _Args:
    """helm-style flags: ``--flag value``, ``--flag=value``, repeated ``-f``/``--set``."""

    VALUE_FLAGS = {"-n", "--namespace", "-o", "--output", "--repo", "--version", "--timeout", "-f", "--values", "--set",
                   "--set-string", "--kubeconfig", "--filter", "--template", "--kube-context"}

    def __init__(self, argv: list[str]) -> None:
        self.positional: list[str] = []
        self.flags: dict[str, list[str]] = {}
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg.startswith("-"):
                name, eq, value = arg.partition("=")
                if name in self.VALUE_FLAGS:
                    if not eq:
                        i += 1
                        if i >= len(argv):
                            raise SystemExit(f"Error: flag needs an argument: {name}")
                        value = argv[i]
                    self.flags.setdefault(name, []).append(value)
                else:
                    self.flags.setdefault(name, []).append("true")
            else:
                self.positional.append(arg)
            i += 1

    def one(self, *names: str, default: str = "") -> str:
        for name in names:
            if name in self.flags:
                return self.flags[name][-1]
        return default

    def many(self, *names: str) -> list[str]:
        return [v for name in names for v in self.flags.get(name, [])]

    def has(self, name: str) -> bool:
        return name in self.flags


def _record(argv: list[str], args: _Args) -> None:
    kubeconfig = args.one("--kubeconfig")
    entry: dict[str, Any] = {"argv": argv}
    if kubeconfig and os.path.exists(kubeconfig):
        entry["kubeconfig_mode"] = oct(stat.S_IMODE(os.stat(kubeconfig).st_mode))
    if os.environ.get("HELM_KUBETOKEN"):
        entry["token_from"] = "environment"
        entry["kubeconfig_env"] = os.environ.get("KUBECONFIG", "")
    with open(os.environ["FAKE_HELM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def _dispatch(args: _Args, state: dict[str, Any]) -> str:
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
        return json.dumps([
            {"name": r["name"], "namespace": r["namespace"], "revision": str(r["revision"]), "updated": "2026-01-01 00:00:00 +0000 UTC",
             "status": r["status"], "chart": f"{r['chart']}-{r['version']}", "app_version": r["app_version"]}
            for r in shown
        ])
    if args.positional[:2] == ["get", "values"]:
        release = _release(state, args.positional[2], namespace)
        _want_json(args)
        return json.dumps(release["values"] or None)
    if command == ["upgrade"]:
        return _upgrade(args, state, namespace)
    raise HelmExit(f'unknown command "{" ".join(args.positional[:2])}" for "helm"')


def _check_failures(args: _Args, state: dict[str, Any]) -> None:
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


def _want_json(args: _Args) -> None:
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
        "info": {"status": r["status"], "description": r["description"], "first_deployed": "2026-01-01T00:00:00Z",
                 "last_deployed": "2026-01-01T00:00:00Z", "deleted": "", "notes": ""},
        "chart": {"metadata": {"name": r["chart"], "version": r["version"], "appVersion": r["app_version"], "apiVersion": "v2"}},
        "config": r["values"],
    }


def _upgrade(args: _Args, state: dict[str, Any], namespace: str) -> str:
    if not args.has("--install"):
        raise HelmExit("the fake helm supports upgrade --install only")
    if len(args.positional) != 3:
        raise HelmExit(f'"helm upgrade" requires 2 arguments (got {args.positional[1:]})')
    name, chart_ref = args.positional[1], args.positional[2]
    chart = _resolve_chart(chart_ref, args.one("--repo"), args.one("--version"))
    timeout = args.one("--timeout", default="5m0s")
    if not re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", timeout) or not timeout:
        raise HelmExit(f'invalid argument "{timeout}" for "--timeout" flag: time: invalid duration "{timeout}"')
    values: dict[str, Any] = {}
    for path in args.many("-f", "--values"):
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise HelmExit(f"open {path}: no such file or directory") from None
        values = _deep_merge(values, loaded)
    for item in args.many("--set"):
        values = _deep_merge(values, parse_set(item, typed=True))
    for item in args.many("--set-string"):
        values = _deep_merge(values, parse_set(item, typed=False))

    current = state["releases"].get(f"{namespace}/{name}")
    if current is not None and str(current.get("status", "")).startswith("pending-"):
        raise HelmExit("UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress")
    kube = (_Kube.from_kubeconfig(args.one("--kubeconfig")) if args.has("--kubeconfig")
            else _Kube.from_env() if os.environ.get("HELM_KUBEAPISERVER") else None)
    if kube is not None:
        if args.has("--create-namespace"):
            kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        elif not kube.exists(f"/api/v1/namespaces/{namespace}"):
            raise HelmExit(f'create: failed to create: namespaces "{namespace}" not found')
        if chart["name"] == "argo-cd" and state["config"].get("workloads", True):
            _install_argocd(kube, namespace, values, ready=state["config"].get("workloads_ready", True))

    key = f"{namespace}/{name}"
    previous = state["releases"].get(key)
    _pending(state, key, name, namespace, chart, previous)
    state["releases"][key] = {
        "name": name, "namespace": namespace, "chart": chart["name"], "version": chart["version"], "app_version": chart["app_version"],
        "values": values, "revision": (previous["revision"] + 1) if previous else 1, "status": "deployed",
        "description": "Upgrade complete" if previous else "Install complete",
    }
    if args.one("-o", "--output") == "json":
        return json.dumps(_status_json(state["releases"][key]))
    return f'Release "{name}" has been {"upgraded" if previous else "installed"}. Happy Helming!'


def _uninstall(args: _Args, state: dict[str, Any]) -> str:
    """helm uninstall: removes the release record (whatever its status, pending-install too)."""
    if len(args.positional) != 2:
        raise HelmExit(f'"helm uninstall" requires 1 argument (got {args.positional[1:]})')
    name, namespace = args.positional[1], args.one("-n", "--namespace", default="default")
    if state["releases"].pop(f"{namespace}/{name}", None) is None:
        raise HelmExit(f"uninstall: Release not loaded: {name}: release: not found")
    return f'release "{name}" uninstalled'


def _pending(state: dict[str, Any], key: str, name: str, namespace: str, chart: dict[str, str], previous: dict[str, Any] | None) -> None:
    """With ``delay_s`` configured, an upgrade takes that long, and meanwhile the release is
    ``pending-install``/``pending-upgrade`` for every other helm call, as helm records it
    before it waits. (A helm killed in this window leaves it pending.)"""
    delay = float(state["config"].get("delay_s") or 0)
    if delay <= 0:
        return
    state["releases"][key] = {
        "name": name, "namespace": namespace, "chart": chart["name"], "version": chart["version"], "app_version": chart["app_version"],
        "values": (previous or {}).get("values") or {}, "revision": (previous["revision"] + 1) if previous else 1,
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
    name = ref
    if "/" in ref:
        alias, name = ref.split("/", 1)
        known = CHARTS.get(name)
        if known is None or known["alias"] != alias:
            raise HelmExit(f'repo {alias} not found')
        repo = repo or known["repo"]
    known = CHARTS.get(name)
    if known is None or (repo and repo.rstrip("/") != known["repo"]):
        raise HelmExit(f'chart "{name}" not found in {repo or "any"} repository')
    version = version or max(known["versions"], key=lambda v: tuple(int(p) for p in v.split(".")))
    if version not in known["versions"]:
        raise HelmExit(f'chart "{name}" version "{version}" not found in {known["repo"]} repository')
    return {"name": name, "version": version, "app_version": known["versions"][version]}


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _deep_merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def _split_unescaped(text: str, sep: str, limit: int = -1) -> list[str]:
    parts, current, i = [], "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i: i + 2]
            i += 2
            continue
        if ch == sep and (limit < 0 or len(parts) < limit):
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_set(item: str, *, typed: bool) -> dict[str, Any]:
    """helm's ``--set a.b=c,d\\.e=f`` (backslash escapes ``.``, ``,`` and ``=``) → nested values."""
    result: dict[str, Any] = {}
    for pair in _split_unescaped(item, ","):
        pieces = _split_unescaped(pair, "=", 1)
        if len(pieces) < 2:
            raise HelmExit(f"failed parsing --set data: key {pair!r} has no value")
        key, raw = pieces
        value: Any = _unescape(raw)
        if typed:
            value = {"true": True, "false": False, "null": None}.get(value, value)
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                value = int(value)
        path = [_unescape(p) for p in _split_unescaped(key, ".")]
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return result


class _Kube:
    """Just enough of a Kubernetes client for the fake install: the kubeconfig's server, CA, token."""

    def __init__(self, server: str, ca_pem: bytes, token: str) -> None:
        self.server = server.rstrip("/")
        self.context = ssl.create_default_context(cadata=ca_pem.decode())
        self.token = token

    @classmethod
    def from_env(cls) -> "_Kube":
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
    def from_kubeconfig(cls, path: str) -> "_Kube":
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
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", content_type)
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=20) as resp:
                return resp.status, json.loads(resp.read() or b"null"), None
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read() or b"{}")
            return err.code, payload, err.headers.get("Retry-After")
        except (urllib.error.URLError, OSError) as exc:
            raise HelmExit(f"Kubernetes cluster unreachable: {exc}") from None

    def exists(self, path: str) -> bool:
        code, _ = self._request("GET", path)
        return code == 200

    def apply(self, obj: dict[str, Any]) -> None:
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace")
        name = obj["metadata"]["name"]
        base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
        plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "Deployment": "deployments", "StatefulSet": "statefulsets"}[kind]
        where = f"/namespaces/{ns}" if ns else ""
        code, answer = self._request("PATCH", f"{base}{where}/{plural}/{name}?fieldManager=helm&force=true", obj, "application/apply-patch+yaml")
        if code >= 300:
            raise HelmExit(f"failed to create resource: {answer.get('message', code)}")

    def patch_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}[obj["kind"]]
        code, answer = self._request("PATCH", f"/apis/apps/v1/namespaces/{ns}/{plural}/{name}/status", {"status": status}, "application/merge-patch+json")
        if code >= 300:
            raise HelmExit(f"failed to update status: {answer.get('message', code)}")


def _install_argocd(kube: _Kube, namespace: str, values: dict[str, Any], *, ready: bool) -> None:
    for key, sa_name in ARGO_SERVICE_ACCOUNTS.items():
        sa = (values.get(key) or {}).get("serviceAccount") or {}
        kube.apply({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": sa.get("name") or sa_name, "namespace": namespace, "annotations": sa.get("annotations") or {}},
        })
    for kind, name in ARGO_WORKLOADS:
        obj = {
            "apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "argocd"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
        }
        kube.apply(obj)
        status = {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1 if ready else 0, "updatedReplicas": 1,
                  "availableReplicas": 1 if ready else 0}
        if kind == "StatefulSet":
            status.update(currentRevision=f"{name}-1", updateRevision=f"{name}-1")
        kube.patch_status(obj, status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
