"""Helm through its CLI, always via the subprocess chokepoint.

kyeol reads a release (``helm status -o json``), its user-supplied values (``helm get values
-o json``) and installs or upgrades with a pinned chart version, rolled back on failure and
waited on (``upgrade --install --atomic --wait --timeout``). Helm talks to the cluster with a
freshly presigned EKS token given in its environment (``HELM_KUBETOKEN``, with
``HELM_KUBEAPISERVER`` and ``HELM_KUBECAFILE``; no ``~/.kube/config``): no file ever holds the
token, and the redactor knows it, so it appears in no log line. EKS accepts such a token for 15 minutes, longer than
helm's 10-minute ``--wait``.

Failures are classified from helm's own text: an unreachable cluster or chart repository is
transient (retried), a pending operation left by an interrupted helm, a wait that ran out, or
a refused identity is permanent, with what to do next.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from runbook import processes
from runbook.errors import PermanentError, TransientError
from runbook.retry import Classifier, RetryPolicy, call_within_step
from steps.adapters.process import Completed, ProcessRunner

_T = TypeVar("_T")

INSTALL_HINT = "install helm 3.x or 4.x (https://helm.sh/docs/intro/install/) and put it on PATH, or set KYEOL_HELM to its path"
READ_TIMEOUT_S = 120.0
# A read that keeps failing transiently: retried in place for up to 2 minutes (bounded by the step).
READ_RETRY = RetryPolicy(max_attempts=30, initial=1.0, maximum=15.0, jitter=1.0, budget_s=120.0)
# helm downloads the chart before it starts its own --timeout clock.
DOWNLOAD_ALLOWANCE_S = 120.0

# First match wins: permanent causes are tested before the transient ones they contain.
_PERMANENT_RULES: tuple[tuple[str, str], ...] = (
    (
        r"another operation \(install/upgrade/rollback\) is in progress",
        (
            "an earlier helm run was interrupted and left the release pending: look at `helm history {name} -n {namespace}`; "
            "a pending-install (a first install) has nothing to roll back to: `helm uninstall {name} -n {namespace}`; "
            "a pending-upgrade: roll back to the last deployed revision (`helm rollback {name} <revision> -n {namespace}`); "
            "then run kyeol again"
        ),
    ),
    (
        r"(?:UPGRADE|INSTALLATION) FAILED:.*(?:timed out waiting for the condition|context deadline exceeded)",
        (
            "helm rolled the release back after its wait ran out: look at the pods (`kubectl -n {namespace} get pods`, "
            "`kubectl -n {namespace} describe pod …`); nodes without room (t3.medium holds 17 pods) are the usual cause"
        ),
    ),
    (
        r"\bUnauthorized\b|\bforbidden\b",
        "the IAM identity you run kyeol with needs an EKS access entry on the cluster with AmazonEKSClusterAdminPolicy",
    ),
    (
        r"chart \"[^\"]+\" (?:version \"[^\"]+\" )?not found",
        "the pinned chart version does not exist in its repository: check the version in kyeol",
    ),
)
_TRANSIENT_RULES: tuple[tuple[str, str], ...] = (
    ("cluster unreachable", r"Kubernetes cluster unreachable"),
    ("connection refused", r"connection refused"),
    ("connection reset", r"connection reset by peer|unexpected EOF|http2: client connection lost"),
    ("network timeout", r"i/o timeout|TLS handshake timeout|Client\.Timeout exceeded|context deadline exceeded"),
    (
        "api server busy",
        (
            r"the server is currently unable to handle the request|etcdserver: request timed out|Too Many Requests"
            r"|the server has received too many requests|ServiceUnavailable|Internal error occurred"
        ),
    ),
    (
        "chart repository unreachable",
        r"is not a valid chart repository or cannot be reached|failed to fetch https?://\S+|Service Unavailable|502 Bad Gateway",
    ),
)


class KubeconfigSource(Protocol):
    """What helm needs from a cluster: its environment variables (see KubeClient.helm_environment)."""

    def helm_environment(self) -> AbstractContextManager[dict[str, str]]: ...


@dataclass(frozen=True)
class Release:
    """The facts of a helm release that kyeol compares."""

    name: str
    namespace: str
    chart: str
    chart_version: str
    app_version: str
    status: str
    revision: int

    @classmethod
    def from_status(cls, doc: Mapping[str, Any]) -> Release:
        metadata = (doc.get("chart") or {}).get("metadata") or {}
        return cls(
            name=str(doc.get("name") or ""),
            namespace=str(doc.get("namespace") or ""),
            chart=str(metadata.get("name") or ""),
            chart_version=str(metadata.get("version") or ""),
            app_version=str(metadata.get("appVersion") or ""),
            status=str((doc.get("info") or {}).get("status") or ""),
            revision=int(doc.get("version") or 0),
        )


def set_key_path(key: str) -> list[str]:
    """The path of a ``--set`` key: dots separate, ``\\.`` is a literal dot."""
    parts, current, escaped = [], "", False
    for ch in key:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def escape_set_value(value: str) -> str:
    """A value for ``--set-string`` that helm reads back unchanged (commas would split it)."""
    return value.replace("\\", "\\\\").replace(",", "\\,")


def merge_values(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """helm's coalescing of values: maps merge key by key, anything else is replaced."""
    merged: dict[str, Any] = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def user_values(values_documents: Sequence[Mapping[str, Any]], set_values: Mapping[str, str]) -> dict[str, Any]:
    """What ``helm get values`` reports after an install with these ``-f`` files and ``--set-string``s."""
    result: dict[str, Any] = {}
    for doc in values_documents:
        result = merge_values(result, doc or {})
    for key, value in set_values.items():
        tree: dict[str, Any] = {}
        node = tree
        path = set_key_path(key)
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        result = merge_values(result, tree)
    return result


@dataclass(frozen=True)
class ChartInstall:
    """One pinned ``helm upgrade --install``: release, chart, repository, ``-f`` files, ``--set-string`` pairs.

    Built by phase code and turned into helm's argv here, in one place, so what the tests
    render with the real chart is exactly what helm is given.
    """

    release: str
    chart: str
    version: str
    repo: str
    namespace: str
    values_files: tuple[str, ...]
    set_values: Mapping[str, str]

    def argv(self, helm: str, *, rollback_flag: str, timeout: float) -> list[str]:
        argv = [
            helm,
            "upgrade",
            "--install",
            self.release,
            self.chart,
            "--repo",
            self.repo,
            "--version",
            self.version,
            "--namespace",
            self.namespace,
            "--create-namespace",
            rollback_flag,
            "--wait",
            "--timeout",
            go_duration(timeout),
        ]
        for path in self.values_files:
            argv += ["--values", str(path)]
        for key, value in self.set_values.items():
            argv += ["--set-string", f"{key}={escape_set_value(value)}"]
        return argv


def go_duration(seconds: float) -> str:
    """Seconds as a Go duration for ``--timeout`` (600 → ``10m0s``)."""
    total = max(1, int(seconds))
    minutes, secs = divmod(total, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


class Helm:
    """The helm CLI, with pinned versions and classified failures."""

    def __init__(self, process: ProcessRunner, *, log: Any = None, binary: str = "helm") -> None:
        self.process = process
        self.log = log
        self.binary = binary
        self._version: str | None = None

    def version(self, *, ctx: Any = None) -> str:
        """helm's version (``v3.17.3``); Unavailable with an install hint when helm is missing."""
        if self._version is None:
            path = self.process.require(self.binary, hint=INSTALL_HINT)
            done = self.process.run([path, "version", "--short"], timeout=30.0, mutating=False, check=False, ctx=ctx)
            match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", done.stdout.strip())
            if done.returncode != 0 or not match:
                raise PermanentError(
                    f"`{self.binary} version --short` answered {done.stdout.strip() or done.stderr.strip()!r}", hint=INSTALL_HINT
                )
            if int(match.group(1)) < 3:
                raise PermanentError(f"helm {match.group(0)} is too old: kyeol needs helm 3 or 4", hint=INSTALL_HINT)
            self._version = f"v{match.group(1)}.{match.group(2)}.{match.group(3)}"
        return self._version

    @property
    def major(self) -> int:
        return int((self._version or "v3").lstrip("v").split(".")[0])

    def release(self, name: str, namespace: str, kube_env: KubeconfigSource, *, ctx: Any = None) -> Release | None:
        """The release ``namespace/name`` (``helm status -o json``), or None when there is none."""

        def read() -> Release | None:
            done = self._read(["status", name, "--namespace", namespace, "--output", "json"], kube_env, ctx=ctx)
            if done.returncode != 0:
                if "release: not found" in done.stderr:
                    return None
                raise self._failure(done, f"read helm release {namespace}/{name}", name, namespace)
            return Release.from_status(_json(done, "helm status"))

        return self._again_in_place(read, f"read helm release {namespace}/{name}", ctx)

    def get_values(self, name: str, namespace: str, kube_env: KubeconfigSource, *, ctx: Any = None) -> dict[str, Any]:
        """The user-supplied values of a release (``helm get values -o json``)."""

        def read() -> dict[str, Any]:
            done = self._read(["get", "values", name, "--namespace", namespace, "--output", "json"], kube_env, ctx=ctx)
            if done.returncode != 0:
                raise self._failure(done, f"read the values of helm release {namespace}/{name}", name, namespace)
            return dict(_json(done, "helm get values") or {})

        return self._again_in_place(read, f"read the values of helm release {namespace}/{name}", ctx)

    def _again_in_place(self, read: Callable[[], _T], what: str, ctx: Any) -> _T:
        """A read that failed transiently is run again here (its own backoff, a 2-minute
        budget, bounded by the step's deadline), not by throwing the step attempt away."""
        return call_within_step(
            read,
            policy=READ_RETRY,
            classifier=Classifier(),
            ctx=ctx,
            what=what,
            on_retry=lambda n, reason, exc, delay: self._note_retry(what, reason, delay),
        )

    def _note_retry(self, what: str, reason: str, delay: float) -> None:
        if self.log is not None:
            self.log.warning("helm read failed transiently; retrying it", what=what, reason=reason, delay_s=round(delay, 2))

    def upgrade_install(
        self,
        name: str,
        chart: str,
        *,
        version: str,
        repo: str,
        namespace: str,
        values_files: Sequence[str],
        set_values: Mapping[str, str],
        kube_env: KubeconfigSource,
        timeout: float,
        ctx: Any = None,
    ) -> Release | None:
        """``helm upgrade --install`` at a pinned version, rolled back on failure, waited on.

        Mutating: skipped in a dry-run (returns None then).
        """
        install = ChartInstall(name, chart, version, repo, namespace, tuple(values_files), dict(set_values))
        return self.install(install, kube_env=kube_env, timeout=timeout, ctx=ctx)

    def install(self, install: ChartInstall, *, kube_env: KubeconfigSource, timeout: float, ctx: Any = None) -> Release | None:
        """Run ``install`` (see :meth:`upgrade_install`)."""
        helm = self.process.require(self.binary, hint=INSTALL_HINT)
        self.version(ctx=ctx)
        rollback = "--rollback-on-failure" if self.major >= 4 else "--atomic"
        argv = install.argv(helm, rollback_flag=rollback, timeout=timeout)
        with kube_env.helm_environment() as env:
            done = self.process.run(
                argv + ["--output", "json"],
                timeout=timeout + DOWNLOAD_ALLOWANCE_S,
                env=env,
                mutating=True,
                check=False,
                ctx=ctx,
            )
        if done.skipped_dry_run:
            return None
        if done.returncode != 0:
            raise self._failure(
                done,
                f"install {install.chart} {install.version} as {install.namespace}/{install.release}",
                install.release,
                install.namespace,
            )
        return Release.from_status(_json(done, "helm upgrade"))

    def uninstall(self, name: str, namespace: str, kube_env: KubeconfigSource, *, timeout: float, ctx: Any = None) -> None:
        """``helm uninstall --wait``: the way out of a first install that never finished.

        A release left ``pending-install`` (helm v3 pkg/action/install.go records it before it
        creates anything, and only a finished install moves it on) cannot be upgraded (helm
        refuses: "another operation is in progress") nor rolled back (no earlier revision).
        """
        helm = self.process.require(self.binary, hint=INSTALL_HINT)
        with kube_env.helm_environment() as env:
            done = self.process.run(
                [helm, "uninstall", name, "--namespace", namespace, "--wait", "--timeout", go_duration(timeout)],
                timeout=timeout + 30.0,
                env=env,
                mutating=True,
                check=False,
                ctx=ctx,
            )
        if done.skipped_dry_run or done.returncode == 0 or "release: not found" in done.stderr:
            return
        raise self._failure(done, f"uninstall {namespace}/{name}", name, namespace)

    def live_operations(self, name: str, namespace: str) -> list[int]:
        """Pids of helm processes on this machine working on release ``namespace/name``
        (install, upgrade, rollback or uninstall) — whoever started them.

        Like the Terraform lock's holder check: only this machine can be looked at. A helm
        whose run was killed with it is gone from this list; one that outlived its kyeol is in it.
        """
        found: list[int] = []
        proc = Path("/proc")
        if not proc.is_dir():
            return found
        for entry in proc.iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            args = [a.decode("utf-8", "replace") for a in argv if a]
            if not any("helm" in os.path.basename(a) for a in args[:2]):
                continue
            rest = args[1:]
            if not _OPERATIONS & set(rest) or name not in rest or not _names_namespace(rest, namespace):
                continue
            if not processes.alive(int(entry.name)):
                continue
            found.append(int(entry.name))
        return sorted(found)

    # -- plumbing --------------------------------------------------------------------------

    def _read(self, args: list[str], kube_env: KubeconfigSource, *, ctx: Any) -> Completed:
        helm = self.process.require(self.binary, hint=INSTALL_HINT)
        with kube_env.helm_environment() as env:
            return self.process.run([helm, *args], timeout=READ_TIMEOUT_S, env=env, mutating=False, check=False, ctx=ctx)

    @staticmethod
    def _failure(done: Completed, what: str, name: str, namespace: str) -> Exception:
        text = (done.stderr or done.stdout).strip()
        tail = "\n".join(text.splitlines()[-8:]) or f"exit {done.returncode}"
        for pattern, hint in _PERMANENT_RULES:
            if re.search(pattern, text, re.IGNORECASE | re.DOTALL):
                return PermanentError(f"helm could not {what}: {tail}", hint=hint.format(name=name, namespace=namespace))
        for reason, pattern in _TRANSIENT_RULES:
            if re.search(pattern, text, re.IGNORECASE):
                return TransientError(f"helm could not {what}: {tail}", reason=f"helm: {reason}")
        return PermanentError(
            f"helm could not {what}: {tail}", hint="read helm's message above; run the same helm command by hand to see more"
        )


_OPERATIONS = {"install", "upgrade", "rollback", "uninstall"}


def _names_namespace(args: list[str], namespace: str) -> bool:
    for i, arg in enumerate(args):
        if arg in ("-n", "--namespace") and i + 1 < len(args) and args[i + 1] == namespace:
            return True
        if arg in (f"--namespace={namespace}", f"-n={namespace}"):
            return True
    return False


def _json(done: Completed, what: str) -> Any:
    try:
        return json.loads(done.stdout or "null")
    except ValueError:
        raise PermanentError(
            f"{what} did not print JSON: {done.stdout[:200]!r}", hint="check that KYEOL_HELM points at helm 3 or 4"
        ) from None
