"""Stand-in for a Kubernetes API server (and for the controllers that write status), served
over HTTPS on 127.0.0.1.

No API server can run on the test machines, so this small threaded server answers the real
``kubernetes`` Python client the way kube-apiserver does, for the calls kyeol makes:

* discovery of one group-version (``/api/v1``, ``/apis/apps/v1``, ``/apis/argoproj.io/v1alpha1``)
  and ``/version``;
* core/v1 namespaces, secrets, services, endpoints, configmaps, serviceaccounts; apps/v1
  deployments and statefulsets; networking.k8s.io/v1 ingresses and network policies; RBAC
  roles and bindings; CRDs; policy/v1 PDBs; batch/v1 jobs; argoproj.io/v1alpha1
  applications, appprojects, applicationsets;
* GET, LIST (label selectors), server-side apply (PATCH ``application/apply-patch+yaml``:
  create or merge, field ownership per manager, 409 on a conflict unless ``force``), JSON
  merge patch (also on ``/status``), POST, PUT and DELETE (an object with ``finalizers`` only
  gets a ``deletionTimestamp`` and goes when the last one is removed); ``resourceVersion`` increments on
  every change (a no-op apply leaves it as it was); a Secret's ``stringData`` is stored as
  base64 ``data``; 404 and 409 answers are Kubernetes ``Status`` objects;
* bearer-token authentication that accepts only EKS-shaped tokens: ``k8s-aws-v1.`` + base64url
  of a presigned ``sts:GetCallerIdentity`` URL with ``x-k8s-aws-id`` among its signed headers.

TLS uses a trustme CA, so the client verifies ``ca_data`` exactly as against EKS. Faults can be
injected (the next N requests answer 503; 401/403 for every request; an Application turning
Degraded; a write carried out at once but answered late) and scripted "controllers" run before every request to move the world on: Argo CD
Applications syncing after a number of reads, children appearing under a root app, Endpoints
and workloads becoming ready. Controllers count *reads* (and optionally time on an injected
clock), so tests with a FakeClock never sleep.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    # True when .status is a subresource: writes to the main resource leave it alone.
    status_subresource: bool = True

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS: tuple[Kind, ...] = (
    Kind("", "v1", "Namespace", "namespaces", False),
    Kind("", "v1", "Secret", "secrets", True, status_subresource=False),
    Kind("", "v1", "Service", "services", True),
    Kind("", "v1", "Endpoints", "endpoints", True, status_subresource=False),
    Kind("", "v1", "ConfigMap", "configmaps", True, status_subresource=False),
    Kind("", "v1", "ServiceAccount", "serviceaccounts", True, status_subresource=False),
    Kind("apps", "v1", "Deployment", "deployments", True),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True),
    Kind("networking.k8s.io", "v1", "Ingress", "ingresses", True),
    # What the real Argo CD chart installs besides (the helm stand-in applies the rendered chart).
    Kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, status_subresource=False),
    Kind("rbac.authorization.k8s.io", "v1", "Role", "roles", True, status_subresource=False),
    Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, status_subresource=False),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, status_subresource=False),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, status_subresource=False),
    Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
    Kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    Kind("batch", "v1", "Job", "jobs", True),
    # Argo CD's Application and AppProject CRDs have no status subresource.
    Kind("argoproj.io", "v1alpha1", "Application", "applications", True, status_subresource=False),
    Kind("argoproj.io", "v1alpha1", "AppProject", "appprojects", True, status_subresource=False),
    Kind("argoproj.io", "v1alpha1", "ApplicationSet", "applicationsets", True),
)
ARGO_GROUP = "argoproj.io"
Key = tuple[str, str, str, str]  # group, plural, namespace ("" if cluster-scoped), name
_SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")


class ApiError(Exception):
    """An answer other than 2xx, as a Kubernetes Status object."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
        self.body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details or {},
            "code": code,
        }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any
    token: str
    status: int = 0


def eks_token_problem(token: str) -> str | None:
    """Why ``token`` is not an EKS bearer token (None when it is one)."""
    prefix = "k8s-aws-v1."
    if not token.startswith(prefix):
        return "the token does not start with k8s-aws-v1."
    raw = token[len(prefix) :]
    try:
        url = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return "the token is not base64url"
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "the token does not wrap a URL"
    expected = {"Action": "GetCallerIdentity", "Version": "2011-06-15", "X-Amz-Algorithm": "AWS4-HMAC-SHA256"}
    for name, value in expected.items():
        if query.get(name) != value:
            return f"the presigned URL has {name}={query.get(name)!r}, not {value!r}"
    if query.get("X-Amz-Expires") != "60":
        return f"the presigned URL expires in {query.get('X-Amz-Expires')!r} s, not 60"
    if "x-k8s-aws-id" not in (query.get("X-Amz-SignedHeaders") or "").split(";"):
        return "x-k8s-aws-id is not a signed header"
    if not query.get("X-Amz-Signature") or not query.get("X-Amz-Credential"):
        return "the presigned URL is not signed"
    return None


def parse_label_selector(selector: str) -> list[Callable[[dict[str, str]], bool]]:
    """Kubernetes label-selector syntax: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
    ``k notin (a,b)``, ``k``, ``!k``, joined by commas."""
    requirements: list[Callable[[dict[str, str]], bool]] = []
    for part in re.split(r",(?![^()]*\))", selector):
        part = part.strip()
        if not part:
            continue
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", part):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                requirements.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                requirements.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif m := re.fullmatch(r"([\w./-]+)\s*!=\s*([\w.-]*)", part):
            key, value = m.group(1), m.group(2)
            requirements.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif m := re.fullmatch(r"([\w./-]+)\s*==?\s*([\w.-]*)", part):
            key, value = m.group(1), m.group(2)
            requirements.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif m := re.fullmatch(r"!([\w./-]+)", part):
            key = m.group(1)
            requirements.append(lambda labels, k=key: k not in labels)
        elif m := re.fullmatch(r"([\w./-]+)", part):
            key = m.group(1)
            requirements.append(lambda labels, k=key: k in labels)
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {part!r}")
    return requirements


# -- field ownership for server-side apply -------------------------------------------------


def _leaves(obj: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every leaf of a JSON object by path; lists and empty objects are leaves (atomic)."""
    if isinstance(obj, dict) and obj:
        found: dict[tuple[str, ...], Any] = {}
        for k, v in obj.items():
            found.update(_leaves(v, prefix + (k,)))
        return found
    return {prefix: obj} if prefix else {}


def _lookup(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _store(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[path[-1]] = copy.deepcopy(value)


def _remove(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    trail = []
    node: Any = obj
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        trail.append((node, part))
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, part in reversed(trail):  # prune parents left empty
        if parent[part] == {}:
            del parent[part]
        else:
            break


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = _merge_patch(result.get(k), v)
    return result


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _content_of(obj: dict[str, Any], *, keep_status: bool) -> dict[str, Any]:
    """The fields a manager can own: everything but identity and server-set metadata."""
    body = copy.deepcopy(obj)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    if not keep_status:
        body.pop("status", None)
    metadata = body.get("metadata") or {}
    for name in ("name", "namespace", *_SERVER_FIELDS):
        metadata.pop(name, None)
    if not metadata:
        body.pop("metadata", None)
    return body


def _secret_string_data(kind: Kind, body: dict[str, Any]) -> None:
    if kind.kind == "Secret" and isinstance(body.get("stringData"), dict):
        data = body.setdefault("data", {})
        for k, v in body.pop("stringData").items():
            data[k] = base64.b64encode(str(v).encode()).decode()


# -- the server ----------------------------------------------------------------------------


Controller = Callable[["FakeKubeAPI", RecordedRequest], None]


class FakeKubeAPI:
    """A stand-in Kubernetes API server for one cluster (start it, point a client at ``url``)."""

    def __init__(
        self,
        *,
        name: str = "jung-mgmt-eks",
        clock: Any = None,
        argocd_crds: bool = True,
        namespaces: Iterable[str] = ("default", "kube-system", "kube-public"),
        git_version: str = "v1.33.5-eks-fake",
    ) -> None:
        self.name = name
        self.clock = clock
        self.git_version = git_version
        self.kinds = [k for k in KINDS if argocd_crds or k.group != ARGO_GROUP]
        self._lock = threading.RLock()
        self._objects: dict[Key, dict[str, Any]] = {}
        self._gone: dict[Key, dict[str, Any]] = {}  # last state of objects whose finalizers let them go
        self._owners: dict[Key, dict[tuple[str, ...], str]] = {}
        self._reads: dict[Key, int] = {}
        self._rv = 100
        self._uid = 0
        self.requests: list[RecordedRequest] = []
        self.tokens_seen: set[str] = set()
        self.writes = 0
        self.controllers: list[Controller] = []
        self.auth_mode = "eks"  # eks | deny (401) | forbid (403)
        self._faults: list[tuple[int, int, str]] = []  # [remaining, status, message]
        self._lost: list[list[Any]] = []  # [method, path part, remaining, status, type]: done, answer lost
        self._chaos: tuple[Any, float, float, str] | None = None
        self._slow: list[list[Any]] = []  # [method, path part, seconds, remaining]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca = trustme.CA()
        self.ca_pem = self.ca.cert_pem.bytes()
        for ns in namespaces:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeKubeAPI:
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        api = self

        class Handler(_Handler):
            owner = api

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-kube-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake API first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def ca_data(self) -> str:
        """The CA as Terraform outputs it for EKS: base64 of the PEM."""
        return base64.b64encode(self.ca_pem).decode()

    def ca_file(self) -> str:
        """The CA PEM in a temporary file (for clients that want a path)."""
        handle = tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False)
        handle.write(self.ca_pem)
        handle.close()
        return handle.name

    def outputs(self, **extra: Any) -> dict[str, Any]:
        """Terraform-like outputs of this cluster (what services.kube() is given)."""
        return {
            "cluster_name": self.name,
            "cluster_endpoint": self.url,
            "cluster_certificate_authority_data": self.ca_data,
            **extra,
        }

    # -- faults and scripts ------------------------------------------------------------------

    def fail_next(
        self, count: int, status: int = 503, message: str = "the server is currently unable to handle the request"
    ) -> None:
        """The next ``count`` authenticated requests answer ``status``."""
        with self._lock:
            self._faults.append((count, status, message))

    def slow_answer(self, method: str, path_part: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests ``method`` on a path containing ``path_part`` are carried
        out at once, but answered only ``seconds`` later (a client can die in between)."""
        with self._lock:
            self._slow.append([method, path_part, seconds, times])

    def chaos(self, rate: float, *, seed: int, lose_rate: float = 0.0, lose_manager: str = "kyeol") -> None:
        """Random faults for chaos tests: each authenticated request answers 429/503 (with
        Retry-After, as kube-apiserver's priority and fairness does) with probability ``rate``
        before it is carried out; each write by field manager ``lose_manager`` that was carried
        out answers 504 with probability ``lose_rate`` (a lost answer)."""
        import random

        with self._lock:
            self._chaos = (random.Random(seed), rate, lose_rate, lose_manager)

    def lose_answers(self, method: str, path_part: str, times: int = 1, status: int = 504, content_type: str = "") -> None:
        """The next ``times`` requests ``method`` on a path containing ``path_part`` (and of
        ``content_type``, when given) are carried out, but answered ``status`` (a gateway
        time-out: the client cannot tell it happened)."""
        with self._lock:
            self._lost.append([method, path_part, times, status, content_type])

    def add_controller(self, controller: Controller) -> Controller:
        with self._lock:
            self.controllers.append(controller)
        return controller

    def degrade_application(self, name: str, *, resource: dict[str, Any], message: str, namespace: str = "argocd") -> None:
        """An Application turns Degraded because one of its resources does (with its message)."""
        entry = {**resource, "status": resource.get("status", "Synced"), "health": {"status": "Degraded", "message": message}}

        def change(app: dict[str, Any]) -> None:
            status = app.setdefault("status", {})
            status["health"] = {"status": "Degraded", "message": message}
            resources = [
                r
                for r in status.get("resources") or []
                if (r.get("kind"), r.get("name")) != (resource.get("kind"), resource.get("name"))
            ]
            status["resources"] = resources + [entry]

        self.mutate("argoproj.io/v1alpha1", "Application", name, namespace, change)

    # -- direct access (test side, no HTTP) ----------------------------------------------------

    def kind(self, api_version: str, kind: str) -> Kind:
        group, _, version = api_version.rpartition("/")
        for k in KINDS:
            if k.group == group and k.version == version and k.kind == kind:
                return k
        raise KeyError(f"{kind} ({api_version}) is not served by the fake API")

    def key(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Key:
        k = self.kind(api_version, kind)
        return (k.group, k.plural, (namespace or "") if k.namespaced else "", name)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as a controller or seed would (no auth, no ownership)."""
        k = self.kind(obj["apiVersion"], obj["kind"])
        body = copy.deepcopy(obj)
        _secret_string_data(k, body)
        meta = body.setdefault("metadata", {})
        key = (k.group, k.plural, meta.get("namespace", "") if k.namespaced else "", meta["name"])
        with self._lock:
            previous = self._objects.get(key)
            self._finish(k, key, body, previous)
            return copy.deepcopy(self._stored(key))

    def apply(self, obj: dict[str, Any], manager: str, *, force: bool = False) -> dict[str, Any]:
        """Server-side apply as another client would (a controller, Argo CD): field ownership is
        recorded for ``manager``, so a later apply by someone else meets it (409 unless forced)."""
        k = self.kind(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        key = (k.group, k.plural, meta.get("namespace", "") if k.namespaced else "", meta["name"])
        with self._lock:
            return self._apply(k, key, obj, manager, force)[1]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            found = self._objects.get(self.key(api_version, kind, name, namespace))
            return copy.deepcopy(found) if found is not None else None

    def objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        k = self.kind(api_version, kind)
        with self._lock:
            return [
                copy.deepcopy(o)
                for key, o in sorted(self._objects.items())
                if key[0] == k.group and key[1] == k.plural and (namespace is None or key[2] == namespace)
            ]

    def mutate(
        self, api_version: str, kind: str, name: str, namespace: str | None, change: Callable[[dict[str, Any]], None]
    ) -> bool:
        """Change a stored object in place (as a controller); False if it does not exist."""
        k = self.kind(api_version, kind)
        key = self.key(api_version, kind, name, namespace)
        with self._lock:
            current = self._objects.get(key)
            if current is None:
                return False
            updated = copy.deepcopy(current)
            change(updated)
            self._finish(k, key, updated, current)
            return True

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        with self._lock:
            return self._objects.pop(self.key(api_version, kind, name, namespace), None) is not None

    def reads(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> int:
        """How many GET/LIST answers have carried this object so far."""
        with self._lock:
            return self._reads.get(self.key(api_version, kind, name, namespace), 0)

    def snapshot(self) -> dict[Key, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._objects)

    def requests_matching(self, method: str, path_part: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]

    # -- request handling --------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                return 415, ApiError(415, "UnsupportedMediaType", "the fake API accepts JSON bodies only").body
        auth = headers.get("Authorization") or ""
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        record = RecordedRequest(method, unquote(parts.path), query, content_type, body, token)
        with self._lock:
            self.requests.append(record)
            if token:
                self.tokens_seen.add(token)
            try:
                self._authenticate(token)
                self._inject_fault()
                self._chaos_before()
                for controller in list(self.controllers):
                    controller(self, record)
                status, answer = self._route(method, record)
                lost = self._lost_answer(method, record.path, content_type) if status < 300 else 0
                if not lost and status < 300 and method != "GET":
                    lost = self._chaos_lost(record)
                if lost:
                    raise ApiError(lost, "Timeout", "the server was unable to return a response in the time allotted")
            except ApiError as err:
                status, answer = err.code, err.body
                if err.retry_after is not None:
                    answer = {**answer, "details": {**(answer.get("details") or {}), "retryAfterSeconds": err.retry_after}}
            record.status = status
            delay = self._slow_delay(method, record.path)
        if delay:
            time.sleep(delay)
        return status, answer

    def _chaos_before(self) -> None:
        if self._chaos is None:
            return
        rng, rate, _, _ = self._chaos
        if rng.random() < rate:
            status = 429 if rng.random() < 0.5 else 503
            raise ApiError(
                status,
                "TooManyRequests" if status == 429 else "ServiceUnavailable",
                "the server is currently unable to handle the request",
                retry_after=1,
            )

    def _chaos_lost(self, record: RecordedRequest) -> int:
        if self._chaos is None:
            return 0
        rng, _, lose_rate, manager = self._chaos
        if record.query.get("fieldManager", "") == manager and rng.random() < lose_rate:
            return 504
        return 0

    def _lost_answer(self, method: str, path: str, content_type: str) -> int:
        for rule in self._lost:
            if rule[0] == method and rule[1] in path and rule[2] > 0 and rule[4] in (content_type or ""):
                rule[2] -= 1
                return int(rule[3])
        return 0

    def _slow_delay(self, method: str, path: str) -> float:
        for rule in self._slow:
            if rule[0] == method and rule[1] in path and rule[3] > 0:
                rule[3] -= 1
                return float(rule[2])
        return 0.0

    def _authenticate(self, token: str) -> None:
        problem = eks_token_problem(token) if token else "no bearer token"
        if problem or self.auth_mode == "deny":
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if self.auth_mode == "forbid":
            raise ApiError(
                403,
                "Forbidden",
                'User "arn:aws:sts::123456789012:assumed-role/kyeol-operator/session" cannot access this resource: '
                "no access entry grants it",
            )

    def _inject_fault(self) -> None:
        if not self._faults:
            return
        remaining, status, message = self._faults[0]
        if remaining <= 1:
            self._faults.pop(0)
        else:
            self._faults[0] = (remaining - 1, status, message)
        reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
        raise ApiError(status, reasons.get(status, "InternalError"), message)

    def _route(self, method: str, req: RecordedRequest) -> tuple[int, dict[str, Any]]:
        segments = [s for s in req.path.split("/") if s]
        if req.path == "/version" and method == "GET":
            return 200, {"major": "1", "minor": "33", "gitVersion": self.git_version, "platform": "linux/amd64"}
        if segments[:1] == ["api"]:
            if len(segments) == 1:
                return 200, {"kind": "APIVersions", "versions": ["v1"]}
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"]:
            if len(segments) == 1:
                return 200, self._group_list()
            if len(segments) < 3:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        served = [k for k in self.kinds if k.group == group and k.version == version]
        if not served:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return 200, self._resource_list(group, version, served)
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else ""), (rest[2] if len(rest) > 2 else "")
        kind = next((k for k in served if k.plural == plural), None)
        if kind is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not kind.namespaced:
            namespace = ""
        if method == "GET":
            return (
                (200, self._get(kind, namespace, name))
                if name
                else (200, self._list(kind, namespace, req.query.get("labelSelector", "")))
            )
        if method == "PATCH" and name:
            return self._patch(kind, namespace, name, sub, req)
        if method == "POST" and not name:
            return self._create(kind, namespace, req)
        if method == "PUT" and name:
            return self._replace(kind, namespace, name, req)
        if method == "DELETE" and name:
            return self._delete(kind, namespace, name)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {req.path}")

    def _group_list(self) -> dict[str, Any]:
        groups: dict[str, list[str]] = {}
        for k in self.kinds:
            if k.group and k.version not in groups.setdefault(k.group, []):
                groups[k.group].append(k.version)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                    "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                }
                for g, vs in groups.items()
            ],
        }

    @staticmethod
    def _resource_list(group: str, version: str, kinds: list[Kind]) -> dict[str, Any]:
        resources = []
        for k in kinds:
            resources.append(
                {
                    "name": k.plural,
                    "singularName": k.kind.lower(),
                    "namespaced": k.namespaced,
                    "kind": k.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                }
            )
            if k.status_subresource:
                resources.append(
                    {
                        "name": f"{k.plural}/status",
                        "singularName": "",
                        "namespaced": k.namespaced,
                        "kind": k.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def _get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        key = (kind.group, kind.plural, namespace, name)
        obj = self._objects.get(key)
        if obj is None:
            raise self._not_found(kind, name)
        self._reads[key] = self._reads.get(key, 0) + 1
        return copy.deepcopy(obj)

    def _list(self, kind: Kind, namespace: str, selector: str) -> dict[str, Any]:
        requirements = parse_label_selector(selector) if selector else []
        items = []
        for key, obj in sorted(self._objects.items()):
            if key[0] != kind.group or key[1] != kind.plural or (namespace and key[2] != namespace):
                continue
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if all(req(labels) for req in requirements):
                self._reads[key] = self._reads.get(key, 0) + 1
                items.append(copy.deepcopy(obj))
        return {
            "apiVersion": kind.group_version,
            "kind": f"{kind.kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    def _check_identity(self, kind: Kind, namespace: str, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        if body.get("apiVersion") != kind.group_version or body.get("kind") != kind.kind:
            raise ApiError(
                400,
                "BadRequest",
                f"body is {body.get('kind')} {body.get('apiVersion')}, the URL names {kind.kind} {kind.group_version}",
            )
        meta = body.get("metadata") or {}
        if name and meta.get("name") not in (None, name):
            raise ApiError(
                400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        if kind.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace on the request")
        return body

    def _require_namespace(self, kind: Kind, namespace: str) -> None:
        if kind.namespaced and ("", "namespaces", "", namespace) not in self._objects:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})

    def _patch(self, kind: Kind, namespace: str, name: str, sub: str, req: RecordedRequest) -> tuple[int, dict[str, Any]]:
        manager = req.query.get("fieldManager", "")
        key = (kind.group, kind.plural, namespace, name)
        if req.content_type == "application/apply-patch+yaml":
            if sub:
                raise ApiError(405, "MethodNotAllowed", "the fake API applies to main resources only")
            if not manager:
                raise ApiError(
                    400, "BadRequest", "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests"
                )
            body = self._check_identity(kind, namespace, name, req.body)
            force = req.query.get("force", "").lower() == "true"
            return self._apply(kind, key, body, manager, force)
        if req.content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            current = self._objects.get(key)
            if current is None:
                raise self._not_found(kind, name)
            patch = req.body if isinstance(req.body, dict) else {}
            # As kube-apiserver: a resourceVersion in a patch makes it conditional (optimistic
            # concurrency), 409 Conflict when the object changed since it was read.
            sent_rv = (patch.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                )
            updated = copy.deepcopy(current)
            if sub == "status":
                updated["status"] = _merge_patch(current.get("status"), patch.get("status") or {})
            else:
                if kind.status_subresource:
                    patch = {k: v for k, v in patch.items() if k != "status"}
                patch = copy.deepcopy(patch)
                _secret_string_data(kind, patch)
                updated = _merge_patch(current, patch)
                owners = self._owners.setdefault(key, {})
                for path, value in _leaves(_content_of(patch, keep_status=True)).items():
                    if value is not None:
                        owners[path] = manager or "unknown"
            self._finish(kind, key, updated, current)
            return 200, copy.deepcopy(self._stored(key))
        raise ApiError(415, "UnsupportedMediaType", f"the fake API does not support PATCH with {req.content_type!r}")

    def _apply(self, kind: Kind, key: Key, body: dict[str, Any], manager: str, force: bool) -> tuple[int, dict[str, Any]]:
        """Server-side apply: create, or merge the fields this manager sets; drop the ones it no
        longer sets; 409 when it changes a field another manager owns (unless ``force``)."""
        self._require_namespace(kind, key[2])
        incoming = copy.deepcopy(body)
        _secret_string_data(kind, incoming)
        content = _content_of(incoming, keep_status=not kind.status_subresource)
        wanted = _leaves(content)
        current = self._objects.get(key)
        owners = self._owners.setdefault(key, {})
        if current is not None:
            conflicts = sorted(
                path for path, value in wanted.items() if owners.get(path, manager) != manager and _lookup(current, path) != value
            )
            if conflicts and not force:
                first = owners[conflicts[0]]
                paths = ", ".join("." + ".".join(p) for p in conflicts)
                raise ApiError(
                    409,
                    "Conflict",
                    f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: "
                    f'conflict with "{first}": {paths}',
                    {"name": key[3], "kind": kind.plural},
                )
        updated = copy.deepcopy(current) if current is not None else {}
        for path, owner in list(owners.items()):
            if owner == manager and path not in wanted:
                _remove(updated, path)
                del owners[path]
        for path, value in wanted.items():
            _store(updated, path, value)
            owners[path] = manager
        updated["apiVersion"], updated["kind"] = kind.group_version, kind.kind
        meta = updated.setdefault("metadata", {})
        meta["name"] = key[3]
        if kind.namespaced:
            meta["namespace"] = key[2]
        self._finish(kind, key, updated, current)
        return (201 if current is None else 200), copy.deepcopy(self._stored(key))

    def _create(self, kind: Kind, namespace: str, req: RecordedRequest) -> tuple[int, dict[str, Any]]:
        body = self._check_identity(kind, namespace, "", req.body)
        name = (body.get("metadata") or {}).get("name")
        if not name:
            raise ApiError(422, "Invalid", "metadata.name: Required value")
        key = (kind.group, kind.plural, namespace, name)
        if key in self._objects:
            raise ApiError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists', {"name": name, "kind": kind.plural})
        self._require_namespace(kind, namespace)
        created = copy.deepcopy(body)
        _secret_string_data(kind, created)
        created.setdefault("metadata", {})["name"] = name
        if kind.namespaced:
            created["metadata"]["namespace"] = namespace
        self._finish(kind, key, created, None)
        return 201, copy.deepcopy(self._stored(key))

    def _replace(self, kind: Kind, namespace: str, name: str, req: RecordedRequest) -> tuple[int, dict[str, Any]]:
        body = self._check_identity(kind, namespace, name, req.body)
        key = (kind.group, kind.plural, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise self._not_found(kind, name)
        sent_rv = (body.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
            )
        replaced = copy.deepcopy(body)
        _secret_string_data(kind, replaced)
        if kind.status_subresource and "status" in current:
            replaced["status"] = current["status"]
        self._finish(kind, key, replaced, current)
        return 200, copy.deepcopy(self._stored(key))

    def _delete(self, kind: Kind, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        key = (kind.group, kind.plural, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise self._not_found(kind, name)
        if (current.get("metadata") or {}).get("finalizers"):
            # As kube-apiserver: an object with finalizers is only marked; it goes once its
            # controllers have removed every finalizer (see _finish).
            if not current["metadata"].get("deletionTimestamp"):
                marked = copy.deepcopy(current)
                marked["metadata"]["deletionTimestamp"] = "2026-01-01T00:02:00Z"
                self._finish(kind, key, marked, current)
            return 200, copy.deepcopy(self._stored(key))
        self._objects.pop(key)
        self._owners.pop(key, None)
        self.writes += 1
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "kind": kind.plural},
        }

    def _finish(self, kind: Kind, key: Key, updated: dict[str, Any], previous: dict[str, Any] | None) -> None:
        """Store ``updated``; bump resourceVersion (and generation on spec changes) only if it changed."""
        meta = updated.setdefault("metadata", {})
        updated["apiVersion"], updated["kind"] = kind.group_version, kind.kind
        if previous is not None:
            for name in ("uid", "creationTimestamp", "resourceVersion", "generation"):
                if name in previous.get("metadata", {}):
                    meta[name] = previous["metadata"][name]
            if _comparable(updated) == _comparable(previous):
                return
        else:
            self._uid += 1
            meta["uid"] = f"00000000-0000-4000-8000-{self._uid:012d}"
            meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
            meta["generation"] = 1
        if previous is not None and updated.get("spec") != previous.get("spec"):
            meta["generation"] = int(meta.get("generation") or 1) + 1
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[key] = updated
        self.writes += 1
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._gone[key] = self._objects.pop(key)  # marked for deletion and the last finalizer is gone
            self._owners.pop(key, None)

    def _stored(self, key: Key) -> dict[str, Any]:
        """The object as stored, or as last written when that write finished its deletion."""
        return self._objects.get(key) or self._gone[key]

    @staticmethod
    def _not_found(kind: Kind, name: str) -> ApiError:
        group = f".{kind.group}" if kind.group else ""
        return ApiError(
            404, "NotFound", f'{kind.plural}{group} "{name}" not found', {"name": name, "group": kind.group, "kind": kind.plural}
        )


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(obj)
    for name in _SERVER_FIELDS:
        (body.get("metadata") or {}).pop(name, None)
    return body


class _Handler(BaseHTTPRequestHandler):
    owner: FakeKubeAPI
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY every answer waits for the
    # client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, body = self.owner.handle(self.command, self.path, self.headers, raw)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        retry_after = ((body or {}).get("details") or {}).get("retryAfterSeconds") if isinstance(body, dict) else None
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


# -- scripted controllers ----------------------------------------------------------------------


# The PreSync migration hook of the Saleor Application (the migrate Job and its ServiceAccount),
# as Argo CD reports them in .status.operationState.syncResult.resources after a sync.
_PRESYNC_DONE = {"hookType": "PreSync", "hookPhase": "Succeeded", "status": "Synced", "syncPhase": "PreSync"}
SALEOR_MIGRATION_HOOKS = (
    {"group": "", "version": "v1", "kind": "ServiceAccount", "namespace": "saleor", "name": "saleor-migrate", **_PRESYNC_DONE},
    {
        "group": "batch",
        "version": "v1",
        "kind": "Job",
        "namespace": "saleor",
        "name": "saleor-migrate",
        **_PRESYNC_DONE,
        "message": "job completed",
    },
)


@dataclass
class AppBehaviour:
    """How the scripted Argo CD controller moves one Application."""

    health: str = "Healthy"
    health_message: str = ""
    # .status.resources once converged: {"kind", "namespace", "name", "status", "health": {...}}
    resources: tuple[dict[str, Any], ...] = ()
    # Reads of the Application (GET or LIST answers carrying it) before it converges, and
    # seconds on the injected clock since it appeared (or since a sync operation was set).
    converge_after_reads: int = 1
    converge_after_s: float = 0.0
    # Converge without an explicit sync operation (an automated sync policy).
    auto_sync: bool = True
    operation_phase: str = "Succeeded"
    operation_message: str = "successfully synced (all tasks run)"
    # syncResult resources of the operation, e.g. the PreSync migration Job.
    hooks: tuple[dict[str, Any], ...] = ()
    # Revision an automated sync resolves to (None: the controller's revision).
    revision: str | None = None
    # A requested sync completes on the request that first sees it (once due), without a
    # Running phase a client could observe: for end-to-end runs that must not wait a poll.
    instant_operations: bool = False


@dataclass
class ArgoCdController:
    """Scripted stand-in for Argo CD's application controller: writes Application status.

    New Applications start OutOfSync/Missing; with ``auto_sync`` they converge after
    ``converge_after_reads`` reads; a ``.operation.sync`` set by a client runs and completes
    the same way at the operation's revision, then ``.operation`` is cleared.
    """

    revision: str
    behaviours: dict[str, AppBehaviour] = field(default_factory=dict)
    default: AppBehaviour | None = field(default_factory=AppBehaviour)
    namespace: str = "argocd"
    operations_seen: list[dict[str, Any]] = field(default_factory=list)
    _started: dict[str, tuple[int, float]] = field(default_factory=dict)
    _op_started: dict[str, tuple[int, float]] = field(default_factory=dict)
    _converged: set[str] = field(default_factory=set)

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        now = api.clock.monotonic() if api.clock is not None else 0.0
        for app in api.objects("argoproj.io/v1alpha1", "Application", self.namespace):
            name = app["metadata"]["name"]
            behaviour = self.behaviours.get(name, self.default)
            if behaviour is None:
                continue
            reads = api.reads("argoproj.io/v1alpha1", "Application", name, self.namespace)
            if name not in self._started:
                self._started[name] = (reads, now)
                api.mutate("argoproj.io/v1alpha1", "Application", name, self.namespace, self._initial)
            operation = app.get("operation")
            if operation:
                just_seen = name not in self._op_started
                if just_seen:
                    self._op_started[name] = (reads, now)
                    self.operations_seen.append(copy.deepcopy(operation))
                    api.mutate("argoproj.io/v1alpha1", "Application", name, self.namespace, _running(operation))
                if (not just_seen or behaviour.instant_operations) and self._due(self._op_started[name], reads, now, behaviour):
                    del self._op_started[name]
                    revision = ((operation.get("sync") or {}).get("revision")) or behaviour.revision or self.revision
                    api.mutate(
                        "argoproj.io/v1alpha1",
                        "Application",
                        name,
                        self.namespace,
                        self._converge(behaviour, revision, operation),
                    )
                    self._converged.add(name)
            elif behaviour.auto_sync and name not in self._converged and self._due(self._started[name], reads, now, behaviour):
                revision = behaviour.revision or self.revision
                api.mutate("argoproj.io/v1alpha1", "Application", name, self.namespace, self._converge(behaviour, revision, None))
                self._converged.add(name)

    def forget(self, name: str) -> None:
        """An Application was deleted: a new one of the same name starts from scratch."""
        self._started.pop(name, None)
        self._op_started.pop(name, None)
        self._converged.discard(name)

    @staticmethod
    def _due(start: tuple[int, float], reads: int, now: float, behaviour: AppBehaviour) -> bool:
        return reads - start[0] >= behaviour.converge_after_reads and now - start[1] >= behaviour.converge_after_s

    @staticmethod
    def _initial(app: dict[str, Any]) -> None:
        if not app.get("status"):
            source = (app.get("spec") or {}).get("source") or {}
            app["status"] = {
                "sync": {"status": "OutOfSync", "comparedTo": {"source": source}},
                "health": {"status": "Missing"},
            }

    @staticmethod
    def _converge(behaviour: AppBehaviour, revision: str, operation: dict[str, Any] | None) -> Callable[[dict[str, Any]], None]:
        def change(app: dict[str, Any]) -> None:
            status = app.setdefault("status", {})
            status["sync"] = {
                "status": "Synced",
                "revision": revision,
                "comparedTo": {"source": (app.get("spec") or {}).get("source") or {}},
            }
            health = {"status": behaviour.health}
            if behaviour.health_message:
                health["message"] = behaviour.health_message
            status["health"] = health
            status["resources"] = [copy.deepcopy(r) for r in behaviour.resources]
            synced = [
                {
                    "group": r.get("group", ""),
                    "version": r.get("version", "v1"),
                    "kind": r.get("kind"),
                    "namespace": r.get("namespace", ""),
                    "name": r.get("name"),
                    "status": "Synced",
                    "message": "configured",
                    "syncPhase": "Sync",
                }
                for r in behaviour.resources
            ]
            status["operationState"] = {
                "operation": copy.deepcopy(operation)
                if operation
                else {"sync": {"revision": revision}, "initiatedBy": {"automated": True}},
                "phase": behaviour.operation_phase,
                "message": behaviour.operation_message,
                "syncResult": {"revision": revision, "resources": [copy.deepcopy(h) for h in behaviour.hooks] + synced},
                "startedAt": "2026-01-01T00:00:00Z",
                "finishedAt": "2026-01-01T00:01:00Z",
            }
            app.pop("operation", None)

        return change


def _running(operation: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(app: dict[str, Any]) -> None:
        status = app.setdefault("status", {})
        status["operationState"] = {
            "operation": copy.deepcopy(operation),
            "phase": "Running",
            "message": "one or more tasks are running",
            "startedAt": "2026-01-01T00:00:00Z",
        }

    return change


@dataclass
class CreateWhenPresent:
    """Creates ``objects`` once the trigger object exists (an ApplicationSet's children, say)."""

    trigger: tuple[str, str, str, str | None]  # apiVersion, kind, name, namespace
    objects: list[dict[str, Any]]
    done: bool = False

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        if self.done or api.get(*self.trigger) is None:
            return
        for obj in self.objects:
            meta = obj["metadata"]
            if api.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) is None:
                api.put(obj)
        self.done = True


@dataclass
class EndpointsBecomeReady:
    """A Service's Endpoints: created with a not-ready address, ready after N reads."""

    namespace: str
    name: str
    ready_after_reads: int = 1
    address: str = "10.0.12.34"
    port: int = 9443

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        current = api.get("v1", "Endpoints", self.name, self.namespace)
        if current is None:
            if api.get("v1", "Namespace", self.namespace) is None:
                return
            api.put(
                {
                    "apiVersion": "v1",
                    "kind": "Endpoints",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "subsets": [{"notReadyAddresses": [{"ip": self.address}], "ports": [{"port": self.port, "protocol": "TCP"}]}],
                }
            )
            return
        if api.reads("v1", "Endpoints", self.name, self.namespace) >= self.ready_after_reads:

            def ready(ep: dict[str, Any]) -> None:
                ep["subsets"] = [{"addresses": [{"ip": self.address}], "ports": [{"port": self.port, "protocol": "TCP"}]}]

            api.mutate("v1", "Endpoints", self.name, self.namespace, ready)


@dataclass
class WorkloadBecomesReady:
    """A Deployment or StatefulSet reports all replicas ready after N reads."""

    kind: str
    namespace: str
    name: str
    ready_after_reads: int = 1

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        if api.get("apps/v1", self.kind, self.name, self.namespace) is None:
            return
        if api.reads("apps/v1", self.kind, self.name, self.namespace) >= self.ready_after_reads:
            api.mutate("apps/v1", self.kind, self.name, self.namespace, mark_ready)


def mark_ready(obj: dict[str, Any]) -> None:
    """Status of a rolled-out workload: every replica updated, ready and available."""
    replicas = int((obj.get("spec") or {}).get("replicas", 1) or 1)
    generation = int(obj["metadata"].get("generation") or 1)
    status = {
        "observedGeneration": generation,
        "replicas": replicas,
        "readyReplicas": replicas,
        "updatedReplicas": replicas,
        "availableReplicas": replicas,
    }
    if obj["kind"] == "StatefulSet":
        status.update(currentRevision=f"{obj['metadata']['name']}-1", updateRevision=f"{obj['metadata']['name']}-1")
    obj["status"] = status
