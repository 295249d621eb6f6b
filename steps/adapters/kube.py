"""The Kubernetes API of an EKS cluster, through the official ``kubernetes`` client.

Authentication is what ``aws eks get-token`` does, in process: a ``GetCallerIdentity`` URL
presigned by STS with the header ``x-k8s-aws-id: <cluster>`` signed in, base64url-encoded
behind ``k8s-aws-v1.``. No kubeconfig, no exec plugin (argo-cd #13557): the token is made
again before it expires and every token is registered with the redactor. The cluster CA
(base64, as Terraform outputs it) goes to a private temporary file, and TLS is verified.

Writes are **server-side apply** (``application/apply-patch+yaml`` with a field manager):
idempotent, and a field someone else owns is a 409 conflict instead of a silent overwrite.
Failures become the engine's errors: 5xx, 429 and broken connections are
:class:`TransientError` (retried here a few times, then by the engine), 404 is "absent",
409 is :class:`KubeConflict`, 401/403 are :class:`PermanentError` with a hint about the EKS
access entry of the IAM identity in use.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from runbook.clock import Clock
from runbook.errors import PermanentError, RunbookError, TransientError
from runbook.redact import Redactor
from runbook.retry import Classifier, RetryPolicy, call_with_retries
from steps.adapters.tempdirs import private_dir

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

    from steps.adapters.aws import AwsSession

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - the EKS token format's fixed prefix, not a secret
K8S_AWS_ID_HEADER = "x-k8s-aws-id"
# The URL is presigned for 60 s, as aws-iam-authenticator and `aws eks get-token` do; STS in
# fact honours it for 15 minutes (aws-iam-authenticator #160), unless the signing credentials
# expire first. kyeol makes a new one after 45 s, so no request carries an old token.
TOKEN_EXPIRES_S = 60
TOKEN_REFRESH_AFTER_S = 45
# (connect, read) seconds for one API request.
REQUEST_TIMEOUT = (10.0, 60.0)
# Retries of one request inside the adapter; the engine retries the whole step on top.
REQUEST_RETRY = RetryPolicy(max_attempts=3, initial=1.0, maximum=8.0, jitter=0.5)
DEFAULT_FIELD_MANAGER = "kyeol"

_CLASSIFIER = Classifier()


class KubeNotFound(PermanentError):
    """The object (or its namespace) does not exist."""


class KubeConflict(PermanentError):
    """409: the object exists already, or a server-side apply touched fields another manager owns."""


def presign_eks_token(sts: STSClient, cluster_name: str) -> str:
    """A bearer token for EKS: a presigned ``sts:GetCallerIdentity`` URL naming the cluster.

    The header is passed as a client parameter and moved into the request before signing,
    the way the AWS CLI does it, so it is part of ``X-Amz-SignedHeaders``.
    """

    def take_header(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if K8S_AWS_ID_HEADER in params:
            context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)

    def put_header(request: Any, **_: Any) -> None:
        if K8S_AWS_ID_HEADER in request.context:
            request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]

    events = sts.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", take_header, unique_id="kyeol-k8s-aws-id-param")
    events.register("before-sign.sts.GetCallerIdentity", put_header, unique_id="kyeol-k8s-aws-id-header")
    url = sts.generate_presigned_url(
        "get_caller_identity",
        Params={K8S_AWS_ID_HEADER: cluster_name},
        ExpiresIn=TOKEN_EXPIRES_S,
        HttpMethod="GET",
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class EksToken:
    """The current EKS token of one cluster, made again before it expires."""

    def __init__(self, make: Callable[[], str], *, clock: Clock, redactor: Redactor | None) -> None:
        self._make = make
        self._clock = clock
        self._redactor = redactor
        self._lock = threading.Lock()
        self._token = ""
        self._made_at = 0.0

    def __call__(self) -> str:
        with self._lock:
            now = self._clock.monotonic()
            if not self._token or now - self._made_at >= TOKEN_REFRESH_AFTER_S:
                token = self._make()
                if self._redactor is not None:
                    self._redactor.add(token)
                self._token, self._made_at = token, now
            return self._token


def workload_readiness(obj: Mapping[str, Any] | None, kind: str, name: str) -> tuple[bool, str]:
    """Is a Deployment or StatefulSet rolled out and ready? (ready, what it says)."""
    if obj is None:
        return False, f"{kind} {name} does not exist yet"
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    wanted = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    if generation and observed < generation:
        return False, f"{kind} {name}: the controller has not seen generation {generation} yet"
    if kind == "StatefulSet" and status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return False, f"{kind} {name}: rolling out revision {status.get('updateRevision')} ({ready}/{wanted} ready)"
    if ready >= wanted and updated >= wanted:
        return True, f"{kind} {name}: {ready}/{wanted} ready"
    conditions = [c for c in status.get("conditions") or [] if c.get("status") != "True" and c.get("message")]
    why = f" ({conditions[0]['message']})" if conditions else ""
    return False, f"{kind} {name}: {ready}/{wanted} ready, {updated} updated{why}"


def carries(live: object, wanted: object) -> bool:
    """Does the live object carry every field of ``wanted`` with the same value?

    Server-set fields (status, metadata.uid, defaults) are ignored by construction; lists
    compare whole, as server-side apply treats most of them as atomic.
    """
    if isinstance(wanted, Mapping):
        return isinstance(live, Mapping) and all(key in live and carries(live[key], value) for key, value in wanted.items())
    return live == wanted


def _split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def _raw(_client: Any, data: Any) -> Any:
    """A dynamic-client serializer that keeps the decoded JSON as it is."""
    return data


class _ResourceIndex:
    """Resolves (apiVersion, kind) to a dynamic-client Resource by reading only the one
    group-version it needs (``/api/v1`` or ``/apis/<group>/<version>``).

    It replaces the dynamic client's discoverer, which reads every API group up front and
    caches them in a shared file under /tmp.
    """

    def __init__(self, client: Any, cache_file: Any = None) -> None:
        self.client = client
        self._kinds: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def version(self) -> dict[str, Any]:
        return {}

    def get(self, *, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.resource import Resource

        group, version = _split_api_version(api_version)
        with self._lock:
            known = self._kinds.get((group, version))
        if known is None:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                listing = self.client.request("get", path, serializer=_raw) or {}
            except Exception as exc:  # a group-version not served at all is a 404
                if getattr(exc, "status", None) == 404:
                    raise _KindNotServed(api_version, kind) from None
                raise
            known = {}
            for entry in listing.get("resources") or []:
                if "/" in entry.get("name", ""):
                    continue  # a subresource such as deployments/status
                known[entry["kind"]] = entry
            with self._lock:
                self._kinds[(group, version)] = known
        entry = known.get(kind)
        if entry is None:
            raise _KindNotServed(api_version, kind)
        return Resource(
            prefix="apis" if group else "api",
            group=group,
            api_version=version,
            kind=kind,
            name=entry["name"],
            namespaced=bool(entry.get("namespaced")),
            verbs=entry.get("verbs"),
            preferred=True,
            client=self.client,
        )


class _KindNotServed(Exception):
    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"{kind} ({api_version})")
        self.api_version = api_version
        self.kind = kind


class KubeClient:
    """One EKS cluster's API: server-side apply, reads, custom-resource status, readiness."""

    def __init__(
        self,
        *,
        name: str,
        endpoint: str,
        ca_data: str,
        token: Callable[[], str],
        redactor: Redactor | None = None,
        clock: Clock | None = None,
        log: Any = None,
        retry_policy: RetryPolicy = REQUEST_RETRY,
    ) -> None:
        if not endpoint.startswith("https://"):
            raise PermanentError(
                f"the API endpoint of {name} must be https://, got {endpoint!r}",
                hint="re-apply the cluster's infra step so its cluster_endpoint output is recorded",
            )
        try:
            ca_pem = base64.b64decode(ca_data, validate=True)
        except (ValueError, TypeError) as exc:
            raise PermanentError(
                f"the CA data of {name} is not base64: {exc}",
                hint="re-apply the cluster's infra step so cluster_certificate_authority_data is recorded",
            ) from None
        self.name = name
        self.endpoint = endpoint.rstrip("/")
        self.ca_data = ca_data
        self._token = token
        self._redactor = redactor
        self._clock = clock or Clock()
        self._log_target = log
        self._policy = retry_policy
        self._lock = threading.Lock()
        self._dynamic: Any = None
        self._tmp = private_dir("kube")  # 0700; swept by a later run if this one is killed
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._tmp, True)
        self.ca_path = os.path.join(self._tmp, "ca.crt")
        _write_private(self.ca_path, ca_pem)

    @classmethod
    def for_eks(
        cls,
        aws: AwsSession,
        *,
        cluster_name: str,
        endpoint: str,
        ca_data: str,
        redactor: Redactor | None,
        clock: Clock | None = None,
        log: Any = None,
    ) -> KubeClient:
        """A client that authenticates to ``cluster_name`` with STS-presigned tokens from ``aws``."""
        clock = clock or Clock()

        def make() -> str:
            try:
                return presign_eks_token(aws.client("sts"), cluster_name)
            except RunbookError:
                raise
            except Exception as exc:  # botocore's credential errors
                from steps.adapters.aws import translate

                raise translate(exc, f"presign an EKS token for {cluster_name}") from exc

        return cls(
            name=cluster_name,
            endpoint=endpoint,
            ca_data=ca_data,
            token=EksToken(make, clock=clock, redactor=redactor),
            redactor=redactor,
            clock=clock,
            log=log,
        )

    def __repr__(self) -> str:  # never shows the token
        return f"KubeClient({self.name!r}, {self.endpoint!r})"

    def close(self) -> None:
        """Drop connections and the temporary CA file."""
        with self._lock:
            if self._dynamic is not None:
                self._dynamic.client.close()
                self._dynamic = None
        self._finalizer()

    def token(self) -> str:
        """The current bearer token (fresh; registered with the redactor)."""
        return self._token()

    # -- operations ------------------------------------------------------------------------

    def apply(self, obj: Mapping[str, Any], field_manager: str = DEFAULT_FIELD_MANAGER, *, force: bool = False) -> dict[str, Any]:
        """Server-side apply ``obj``; returns the object as stored.

        ``force`` takes over fields owned by another manager; kyeol passes it only where the
        caller documents why.
        """
        api_version, kind, name, namespace = _identity(obj)
        what = f"apply {kind} {_ref(namespace, name)} on {self.name}"
        self._refuse_in_read_only(what)

        def call() -> Any:
            resource = self._resource(api_version, kind)
            return self._dyn().server_side_apply(
                resource,
                body=dict(obj),
                name=name,
                namespace=namespace if resource.namespaced else None,
                field_manager=field_manager,
                force_conflicts=True if force else None,
                serializer=_raw,
                _request_timeout=REQUEST_TIMEOUT,
            )

        return self._object(what, call)

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        retry: bool = True,
    ) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386), e.g. setting an Argo CD Application's ``operation``.

        ``retry=False`` sends it once: for a write that must not happen twice, whose caller
        re-reads the object after an error (an answer lost after the write was carried out
        looks like any other 504) and puts ``metadata.resourceVersion`` in the patch, which
        makes the API server refuse it (409) if the object changed since that read.
        """
        what = f"patch {kind} {_ref(namespace, name)} on {self.name}"
        self._refuse_in_read_only(what)

        def call() -> Any:
            resource = self._resource(api_version, kind)
            return self._dyn().patch(
                resource,
                body=dict(patch),
                name=name,
                namespace=namespace if resource.namespaced else None,
                content_type="application/merge-patch+json",
                field_manager=field_manager,
                serializer=_raw,
                _request_timeout=REQUEST_TIMEOUT,
            )

        return self._object(what, call, once=not retry)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        what = f"read {kind} {_ref(namespace, name)} on {self.name}"

        def call() -> Any:
            resource = self._resource(api_version, kind)
            return self._dyn().get(
                resource,
                name=name,
                namespace=namespace if resource.namespaced else None,
                serializer=_raw,
                _request_timeout=REQUEST_TIMEOUT,
            )

        try:
            return self._object(what, call)
        except KubeNotFound:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a kind (in one namespace or all), optionally filtered by labels."""
        where = f" in {namespace}" if namespace else ""
        what = f"list {kind}{where} on {self.name}" + (f" ({label_selector})" if label_selector else "")

        def call() -> Any:
            resource = self._resource(api_version, kind)
            return self._dyn().get(
                resource,
                namespace=namespace if resource.namespaced else None,
                label_selector=label_selector,
                serializer=_raw,
                _request_timeout=REQUEST_TIMEOUT,
            )

        found = self._call(what, call) or {}
        return list(found.get("items") or [])

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Ask the API server to delete an object; False when it was already gone (404).

        An object with finalizers (an Argo CD Application with the resources finalizer) is
        only marked for deletion and stays readable until its controller lets it go.
        """
        what = f"delete {kind} {_ref(namespace, name)} on {self.name}"
        self._refuse_in_read_only(what)

        def call() -> Any:
            resource = self._resource(api_version, kind)
            return self._dyn().delete(
                resource,
                name=name,
                namespace=namespace if resource.namespaced else None,
                serializer=_raw,
                _request_timeout=REQUEST_TIMEOUT,
            )

        try:
            self._call(what, call)
        except KubeNotFound:
            return False
        return True

    def status(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A (custom) resource's ``.status`` ({} before a controller wrote one); None if absent."""
        obj = self.get(api_version, kind, name, namespace)
        if obj is None:
            return None
        return dict(obj.get("status") or {})

    def endpoints_ready(self, namespace: str, name: str) -> tuple[bool, str]:
        """Does Service ``namespace/name`` have ready endpoints? (ready, what it says)."""
        ep = self.get("v1", "Endpoints", name, namespace)
        if ep is None:
            return False, f"Endpoints {namespace}/{name} do not exist yet on {self.name}"
        ready = sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])
        not_ready = sum(len(s.get("notReadyAddresses") or []) for s in ep.get("subsets") or [])
        if ready:
            return True, f"Endpoints {namespace}/{name}: {ready} ready address(es)"
        return False, f"Endpoints {namespace}/{name}: no ready address ({not_ready} not ready) on {self.name}"

    def workload_ready(self, kind: str, namespace: str, name: str) -> tuple[bool, str]:
        """Is Deployment/StatefulSet ``namespace/name`` rolled out and ready?"""
        return workload_readiness(self.get("apps/v1", kind, name, namespace), kind, f"{namespace}/{name}")

    def server_version(self) -> dict[str, Any]:
        """``GET /version``: proves the endpoint answers and accepts our token."""
        return self._object(
            f"read /version of {self.name}",
            lambda: self._dyn().request("get", "/version", serializer=_raw, _request_timeout=REQUEST_TIMEOUT),
        )

    @contextlib.contextmanager
    def helm_environment(self) -> Iterator[dict[str, str]]:
        """What helm needs to reach this cluster, with no secret on disk: the API server, a
        fresh token and this cluster's CA through helm's own variables (``HELM_KUBEAPISERVER``,
        ``HELM_KUBETOKEN``, ``HELM_KUBECAFILE``: helm v3 pkg/cli/environment.go), and
        ``KUBECONFIG`` naming an empty kubeconfig so nothing ambient (``~/.kube/config``, its
        exec plugins) is merged in. The token lives only in helm's environment (readable by
        this user alone) and in memory; the CA file is public data.
        """
        empty = os.path.join(self._tmp, "empty-kubeconfig")
        if not os.path.exists(empty):
            _write_private(empty, b"apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
        yield {
            "HELM_KUBEAPISERVER": self.endpoint,
            "HELM_KUBETOKEN": self.token(),
            "HELM_KUBECAFILE": self.ca_path,
            "KUBECONFIG": empty,
        }

    # -- plumbing --------------------------------------------------------------------------

    def _dyn(self) -> Any:
        with self._lock:
            if self._dynamic is None:
                from kubernetes import client as k8s
                from kubernetes.dynamic import DynamicClient

                cfg = k8s.Configuration()
                cfg.host = self.endpoint
                cfg.ssl_ca_cert = self.ca_path
                cfg.verify_ssl = True
                cfg.debug = False
                cfg.retries = False  # retries are ours: classified, logged, on the run's clock
                cfg.api_key = {"authorization": ""}
                cfg.api_key_prefix = {"authorization": "Bearer"}
                # Configuration.__init__ sets the hook to a bare None, so mypy infers the attribute's type
                # as None; get_api_key_with_prefix calls it with the Configuration (what this method takes).
                cfg.refresh_api_key_hook = self._refresh_api_key  # type: ignore[assignment]  # attribute inferred as None upstream
                self._dynamic = DynamicClient(k8s.ApiClient(cfg), discoverer=_ResourceIndex)
            return self._dynamic

    def _refresh_api_key(self, cfg: Any) -> None:
        cfg.api_key["authorization"] = self._token()

    def _resource(self, api_version: str, kind: str) -> Any:
        return self._dyn().resources.get(api_version=api_version, kind=kind)

    read_only = False  # Services sets it for a --read-only run

    def _refuse_in_read_only(self, what: str) -> None:
        """The write chokepoint of a read-only run: apply, patch and delete are refused."""
        if self.read_only:
            from steps.adapters.process import ReadOnlyRefused

            raise ReadOnlyRefused(what)

    def _object(self, what: str, fn: Callable[[], Any], *, once: bool = False) -> dict[str, Any]:
        """:meth:`_call` for a request whose answer is one JSON object: with the ``_raw`` serializer the
        dynamic client returns the decoded body, and the API server answers a get, apply or patch of
        an object, and ``GET /version``, with a JSON object."""
        return cast("dict[str, Any]", self._call(what, fn, once=once))

    def _call(self, what: str, fn: Callable[[], Any], *, once: bool = False) -> Any:
        def once_() -> Any:
            try:
                return fn()
            except RunbookError:
                raise
            except Exception as exc:  # translated into the engine's errors
                raise self._translate(exc, what) from exc

        if once:
            return once_()

        def on_retry(attempt: int, reason: str, exc: BaseException, delay: float) -> None:
            self._log("warning", f"retrying: {what}", reason=reason, attempt=attempt, delay_s=round(delay, 2))

        return call_with_retries(
            once_, policy=self._policy, classifier=_CLASSIFIER, clock=self._clock, on_retry=on_retry, what=what
        )

    def _translate(self, exc: Exception, what: str) -> RunbookError:
        """The engine's error for a failed request, with what to do about it."""
        if isinstance(exc, _KindNotServed):
            return PermanentError(
                f"cannot {what}: the API server of {self.name} does not serve {exc.kind} in {exc.api_version}",
                hint="the CustomResourceDefinition is not installed yet (for Argo CD kinds: apply the argocd step first)",
            )
        status = getattr(exc, "status", None)
        if isinstance(status, int):
            message = self._redact(_status_message(exc))
            if status == 0:
                reason = str(getattr(exc, "reason", "") or exc)
                if "SSL" in reason or "certificate" in reason.lower():
                    return PermanentError(
                        f"cannot {what}: TLS verification of {self.endpoint} failed: {self._redact(reason.splitlines()[-1])}",
                        hint="the recorded CA data does not match the API server; re-apply the cluster's infra step",
                    )
                return PermanentError(f"cannot {what}: {self._redact(reason)}")
            if status == 404:
                return KubeNotFound(f"cannot {what}: not found ({message})")
            if status == 409:
                return KubeConflict(
                    f"cannot {what}: conflict (409): {message}",
                    hint="another field manager owns these fields (someone changed them by hand or with another tool); "
                    "decide which value is right, remove the other manager's change, and run again",
                )
            if status == 401:
                return PermanentError(
                    f"cannot {what}: the API server of {self.name} rejected kyeol's token (401 Unauthorized)",
                    hint=f"the IAM identity you run kyeol with needs an EKS access entry on {self.name} "
                    f"(aws eks list-access-entries --cluster-name {self.name}), and its clock must be right "
                    "(presigned tokens are time-bound)",
                )
            if status == 403:
                return PermanentError(
                    f"cannot {what}: forbidden (403): {message}",
                    hint=f"give the IAM role you run kyeol with an EKS access entry on {self.name} with "
                    "AmazonEKSClusterAdminPolicy (scope: cluster), or run kyeol with the role that has one",
                )
            if status == 429 or 500 <= status <= 599:
                return TransientError(f"cannot {what}: HTTP {status}: {message}", reason=f"kubernetes api http {status}")
            return PermanentError(f"cannot {what}: HTTP {status}: {message}")
        if _is_connection_error(exc):
            return TransientError(
                f"cannot {what}: connection to {self.endpoint} failed: {self._redact(str(exc))}",
                reason=f"connection error ({type(exc).__name__})",
                hint=f"if this never connects: the public API endpoint of {self.name} admits only its allow-list "
                f"(aws eks describe-cluster --name {self.name} --query cluster.resourcesVpcConfig.publicAccessCidrs); "
                "add the public address this machine leaves from to operator_cidrs in the cluster's "
                "kyeol-infra-terraform/envs/<env>/terraform.tfvars and run kyeol again (the infra step re-applies)",
            )
        if isinstance(exc, ValueError):
            return PermanentError(f"cannot {what}: {self._redact(str(exc))}")
        return PermanentError(f"cannot {what}: {type(exc).__name__}: {self._redact(str(exc))}")

    def _redact(self, text: str) -> str:
        return self._redactor.redact(text) if self._redactor is not None else text

    def _log(self, level: str, event: str, **kw: Any) -> None:
        if self._log_target is not None:
            getattr(self._log_target, level)(event, cluster=self.name, **kw)


def _is_connection_error(exc: BaseException) -> bool:
    try:
        import urllib3.exceptions as u3

        if isinstance(exc, u3.HTTPError) and not isinstance(exc, u3.SSLError):
            return True
    except ImportError:  # pragma: no cover - urllib3 comes with kubernetes
        pass
    return isinstance(exc, (ConnectionError, TimeoutError))


def _status_message(exc: Any) -> str:
    """The ``message`` of a Kubernetes Status body, else the HTTP reason."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            doc = json.loads(body)
        except ValueError:
            return body[:300]
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])
    return str(getattr(exc, "reason", "") or "no message")


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    try:
        metadata = obj["metadata"]
        return str(obj["apiVersion"]), str(obj["kind"]), str(metadata["name"]), metadata.get("namespace")
    except (KeyError, TypeError) as exc:
        raise PermanentError(f"cannot apply an object without apiVersion, kind and metadata.name: missing {exc}") from None


def _ref(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


# -- Argo CD Application status (a custom resource kyeol reads directly) --------------------

ARGOCD_API = "argoproj.io/v1alpha1"
_HEALTHY = ("Healthy", "")


def _resource_ref(entry: Mapping[str, Any]) -> str:
    namespace = entry.get("namespace") or ""
    return f"{entry.get('kind', '?')} {namespace + '/' if namespace else ''}{entry.get('name', '?')}"


class ApplicationState:
    """What an Argo CD Application's ``.status`` (and pending ``.operation``) says, read
    straight from the object — never through ``argocd app wait``, which waits for events
    and can hang on an app that has nothing left to do (argo-cd #12211)."""

    def __init__(self, obj: Mapping[str, Any]) -> None:
        status = obj.get("status") or {}
        operation_state = status.get("operationState") or {}
        sync_result = operation_state.get("syncResult") or {}
        self.name = str((obj.get("metadata") or {}).get("name") or "")
        self.sync = str((status.get("sync") or {}).get("status") or "Unknown")
        self.revision = str((status.get("sync") or {}).get("revision") or "")
        self.health = str((status.get("health") or {}).get("status") or "Unknown")
        self.health_message = str((status.get("health") or {}).get("message") or "")
        self.operation_pending = bool(obj.get("operation"))
        self.operation_phase = str(operation_state.get("phase") or "")
        self.operation_message = str(operation_state.get("message") or "")
        self.operation_revision = str(
            sync_result.get("revision") or ((operation_state.get("operation") or {}).get("sync") or {}).get("revision") or ""
        )
        self.resources: list[dict[str, Any]] = [dict(r) for r in status.get("resources") or []]
        self.sync_results: list[dict[str, Any]] = [dict(r) for r in sync_result.get("resources") or []]

    @property
    def operating(self) -> bool:
        """A sync was requested or is running."""
        return self.operation_pending or self.operation_phase in ("Running", "Terminating")

    @property
    def operation_failed(self) -> bool:
        return not self.operating and self.operation_phase in ("Failed", "Error")

    @property
    def settled(self) -> bool:
        """Synced, Healthy, and the last operation Succeeded."""
        return self.sync == "Synced" and self.health == "Healthy" and self.operation_phase == "Succeeded" and not self.operating

    def hooks(self, hook_type: str) -> list[dict[str, Any]]:
        return [r for r in self.sync_results if r.get("hookType") == hook_type]

    def failing_resources(self) -> list[str]:
        """Each resource that is not healthy or failed to sync, with its message."""
        found: list[str] = []
        for entry in self.resources:
            health = entry.get("health") or {}
            if health.get("status", "") not in _HEALTHY or entry.get("status") == "OutOfSync":
                state = "/".join(s for s in (entry.get("status"), health.get("status")) if s)
                message = health.get("message") or ""
                found.append(f"{_resource_ref(entry)} {state}" + (f": {message}" if message else ""))
        for entry in self.sync_results:
            failed_sync = entry.get("status") in ("SyncFailed", "PruneSkipped") and not entry.get("hookType")
            failed_hook = entry.get("hookPhase") in ("Failed", "Error")
            if failed_sync or failed_hook:
                what = f"{entry.get('hookType')} hook " if entry.get("hookType") else ""
                outcome = entry.get("hookPhase") if failed_hook else entry.get("status")
                found.append(
                    f"{what}{_resource_ref(entry)} {outcome}" + (f": {entry['message']}" if entry.get("message") else "")
                )
        return found

    def describe(self) -> str:
        """One line: sync/health, the last operation, and every failing resource."""
        parts = [f"{self.name}: {self.sync}/{self.health}"]
        if self.health_message:
            parts.append(self.health_message)
        if self.operation_pending and self.operation_phase not in ("Running", "Terminating"):
            parts.append("sync requested")
        elif self.operation_phase:
            parts.append(
                f"last operation {self.operation_phase}" + (f" ({self.operation_message})" if self.operation_message else "")
            )
        failing = self.failing_resources()
        if failing:
            parts.append("resources: " + "; ".join(failing))
        return ", ".join(parts)
