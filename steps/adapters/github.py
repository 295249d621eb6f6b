"""GitHub Actions through the REST API: dispatch a workflow, find the run it made, follow it.

Every request honours GitHub's rate limits within the caller's deadline (``retry-after``,
``x-ratelimit-remaining``/``x-ratelimit-reset``), 5xx answers are transient, and the token is
registered with the redactor and never written anywhere. Without a token nothing is sent:
the error says exactly which token to provide.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from runbook.clock import Clock
from runbook.errors import Interrupted, PermanentError, TransientError, Unavailable, WaitTimeout
from runbook.redact import Redactor
from runbook.waits import wait_for

API_VERSION = "2022-11-28"
# How long GitHub may take to list a freshly dispatched run (it is usually a few seconds).
FIND_RUN_TIMEOUT_S = 180.0
# After a dispatch whose answer was lost: how long to look for the run it may have created
# (GitHub lists a new run within seconds).
LOST_DISPATCH_LOOKUP_S = 60.0
# Runs created slightly before our clock's "now" still count (clock skew between us and GitHub).
CLOCK_SKEW = timedelta(minutes=2)
# GitHub asks for at least a minute of pause after a secondary rate limit without headers.
SECONDARY_LIMIT_PAUSE_S = 60.0
# A server that keeps answering "slow down" with no progress is not waited on forever.
MAX_RATE_LIMIT_ROUNDS = 20
FAILED_CONCLUSIONS = frozenset({"failure", "cancelled", "timed_out", "startup_failure", "action_required", "stale"})
_CORRELATION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def token_instructions(repository: str) -> str:
    """Exactly what token kyeol needs, for error messages."""
    return f"set GITHUB_TOKEN to a token with actions:write on {repository} (fine-grained: Actions read/write)"


def new_correlation_id(prefix: str = "kyeol") -> str:
    """A short unique id put into the dispatch inputs; the workflow's run-name repeats it."""
    return f"{prefix}-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class WorkflowRun:
    """The facts of one workflow run that kyeol acts on."""

    id: int
    status: str
    conclusion: str | None
    html_url: str
    display_title: str = ""
    created_at: str = ""

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> WorkflowRun:
        return cls(
            id=int(doc["id"]),
            status=str(doc.get("status") or ""),
            conclusion=doc.get("conclusion"),
            html_url=str(doc.get("html_url") or ""),
            display_title=str(doc.get("display_title") or doc.get("name") or ""),
            created_at=str(doc.get("created_at") or ""),
        )

    @property
    def completed(self) -> bool:
        return self.status == "completed"


class _Budget:
    """The time a call may spend, counting rate-limit pauses: a deadline on one clock."""

    def __init__(self, clock: Clock, deadline: float, cancel: threading.Event | None) -> None:
        self.clock = clock
        self.deadline = deadline
        self.cancel = cancel

    def remaining(self) -> float:
        return self.deadline - self.clock.monotonic()

    def pause(self, seconds: float, why: str) -> None:
        if self.clock.sleep(seconds, self.cancel):
            raise Interrupted(f"stopped waiting for GitHub ({why}): the run is stopping")


class GitHub:
    """A small GitHub REST client for one repository's Actions workflows."""

    def __init__(
        self,
        token: str | None,
        *,
        api_url: str,
        repository: str,
        redactor: Redactor | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        request_timeout: float = 30.0,
        log: Any = None,
        read_only: bool = False,
    ) -> None:
        self.read_only = read_only
        self._token = token or ""
        if redactor is not None and token:
            redactor.add(token)
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.clock = clock or Clock()
        self.log = log
        self._transport = transport
        self._request_timeout = request_timeout
        self._client: httpx.Client | None = None
        # Epoch second until which the primary rate limit is known to be exhausted.
        self._exhausted_until: float | None = None

    def __repr__(self) -> str:  # never show the token
        return f"GitHub(repository={self.repository!r}, api_url={self.api_url!r}, token={'set' if self._token else 'missing'})"

    # -- token ---------------------------------------------------------------------------

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def require_token(self) -> None:
        """Raise, with what to provide, when no token is configured."""
        if not self._token:
            raise Unavailable(
                f"no GitHub token: {token_instructions(self.repository)}",
                hint=(
                    "create a fine-grained token at https://github.com/settings/personal-access-tokens "
                    f"(repository access: {self.repository}; repository permissions: Actions read and write), "
                    "export it as GITHUB_TOKEN and run kyeol again"
                ),
            )

    # -- workflows -----------------------------------------------------------------------

    def dispatch_workflow(
        self,
        workflow_file: str,
        ref: str,
        inputs: Mapping[str, Any],
        *,
        correlation_id: str | None = None,
        clock: Clock | None = None,
        cancel: threading.Event | None = None,
        timeout: float = FIND_RUN_TIMEOUT_S,
        deadline: float | None = None,
    ) -> WorkflowRun:
        """Dispatch ``workflow_file`` on ``ref`` and return the run it created.

        A correlation id goes into the inputs (``correlation_id``); the workflow's ``run-name``
        carries it, so the run can be told apart from any other dispatch of the same workflow.
        """
        self.require_token()
        clock = clock or self.clock
        # Rate-limit pauses may use all the time up to the caller's deadline; looking for the
        # run afterwards is bounded by ``timeout``.
        budget = self._budget(clock, timeout if deadline is None else float("inf"), deadline, cancel)
        cid = correlation_id or str(inputs.get("correlation_id") or "") or new_correlation_id()
        if not _CORRELATION.match(cid):
            raise PermanentError(f"correlation id {cid!r} must be 1-64 letters, digits, '.', '_' or '-'")
        body_inputs = {str(k): str(v) for k, v in inputs.items()}
        body_inputs["correlation_id"] = cid
        dispatched_at = clock.now()
        path = f"/repos/{self.repository}/actions/workflows/{workflow_file}/dispatches"
        body: dict[str, Any] = {"ref": ref, "inputs": body_inputs, "return_run_details": True}
        try:
            resp = self._request("POST", path, budget, json=body, accept=(400, 422))
        except TransientError as lost:
            # A 5xx or a dropped connection may hide a dispatch GitHub carried out: look for
            # the run by its correlation id before calling it failed, so a retry of the caller
            # does not start a second run of the same images (issue 10). A rate limit is a
            # refusal: nothing was carried out.
            if lost.reason == "GitHub rate limit":
                raise
            found = self._find_after_lost_answer(workflow_file, cid, dispatched_at, budget)
            if found is None:
                raise
            self._log("warning", "dispatch answer lost; the run it created was found", correlation_id=cid, error=str(lost)[:200])
            return found
        if resp.status_code in (400, 422) and "return_run_details" in resp.text:
            # Servers older than Feb 2026 (GHES) reject the field: dispatch without it.
            del body["return_run_details"]
            resp = self._request("POST", path, budget, json=body, accept=(422,))
        if resp.status_code in (400, 422):
            raise PermanentError(
                f"GitHub refused to dispatch {workflow_file} on {ref}: {_message(resp)}",
                hint=f"check that {workflow_file} on {ref} has a workflow_dispatch trigger with inputs "
                f"{', '.join(sorted(body_inputs))}",
            )
        self._log("info", "workflow dispatched", workflow=workflow_file, ref=ref, correlation_id=cid)
        if resp.status_code == 200:
            run_id = _json(resp).get("workflow_run_id")
            if run_id:
                return self.get_run(int(run_id), clock=clock, cancel=cancel, deadline=budget.deadline)
        return self.find_run(workflow_file, cid, since=dispatched_at - CLOCK_SKEW, budget=budget, timeout=timeout)

    def _find_after_lost_answer(
        self, workflow_file: str, cid: str, dispatched_at: datetime, budget: _Budget
    ) -> WorkflowRun | None:
        """The run a dispatch with a lost answer created, or None when none shows up in time."""
        try:
            return self.find_run(
                workflow_file, cid, since=dispatched_at - CLOCK_SKEW, budget=budget, timeout=LOST_DISPATCH_LOOKUP_S
            )
        except (WaitTimeout, TransientError):
            return None

    def find_run(
        self, workflow_file: str, correlation_id: str, *, since: datetime, budget: _Budget, timeout: float = FIND_RUN_TIMEOUT_S
    ) -> WorkflowRun:
        """Poll the workflow's dispatch runs until one carries ``correlation_id`` in its title."""
        path = f"/repos/{self.repository}/actions/workflows/{workflow_file}/runs"
        params = {
            "event": "workflow_dispatch",
            "created": ">=" + since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "per_page": "50",
        }
        found: list[WorkflowRun] = []

        def probe() -> tuple[bool, str]:
            runs = _json(self._request("GET", path, budget, params=params)).get("workflow_runs") or []
            for doc in runs:
                run = WorkflowRun.from_api(doc)
                if correlation_id in run.display_title:
                    found.append(run)
                    return True, f"run {run.id} ({run.html_url})"
            return False, f"no run titled with {correlation_id} among {len(runs)} recent dispatches"

        wait_for(
            probe,
            what=f"the {workflow_file} run for {correlation_id}",
            timeout=max(0.0, min(timeout, budget.remaining())),
            clock=budget.clock,
            cancel=budget.cancel,
            interval=2.0,
            max_interval=10.0,
            hint=f"check that {workflow_file}'s run-name includes inputs.correlation_id, and look at the "
            f"Actions tab of {self.repository}",
        )
        return found[-1]

    def unfinished_runs(
        self,
        workflow_file: str,
        title_contains: str,
        *,
        within: timedelta,
        clock: Clock | None = None,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
    ) -> list[WorkflowRun]:
        """Dispatched runs of ``workflow_file`` from the last ``within`` that have not completed
        and whose title contains ``title_contains``, newest first: work a caller started
        earlier (and may follow instead of dispatching the same again)."""
        self.require_token()
        clock = clock or self.clock
        # Rate-limit pauses may use the time up to the caller's deadline, as for a dispatch.
        budget = self._budget(clock, 60.0 if deadline is None else float("inf"), deadline, cancel)
        since = (clock.now() - within).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = f"/repos/{self.repository}/actions/workflows/{workflow_file}/runs"
        params = {"event": "workflow_dispatch", "created": ">=" + since, "per_page": "50"}
        docs = _json(self._request("GET", path, budget, params=params)).get("workflow_runs") or []
        runs = [WorkflowRun.from_api(doc) for doc in docs]
        return sorted((r for r in runs if not r.completed and title_contains in r.display_title), key=lambda r: -r.id)

    def get_run(
        self,
        run_id: int,
        *,
        clock: Clock | None = None,
        cancel: threading.Event | None = None,
        timeout: float = 60.0,
        deadline: float | None = None,
    ) -> WorkflowRun:
        budget = self._budget(clock or self.clock, timeout, deadline, cancel)
        return WorkflowRun.from_api(_json(self._request("GET", f"/repos/{self.repository}/actions/runs/{run_id}", budget)))

    def failed_jobs(self, run_id: int, budget: _Budget) -> list[str]:
        """Names of the jobs of a run that did not succeed (latest attempt)."""
        path = f"/repos/{self.repository}/actions/runs/{run_id}/jobs"
        jobs = _json(self._request("GET", path, budget, params={"filter": "latest", "per_page": "100"})).get("jobs") or []
        return [str(j.get("name")) for j in jobs if j.get("conclusion") in FAILED_CONCLUSIONS]

    def wait_run(
        self,
        run_id: int,
        *,
        timeout: float,
        clock: Clock | None = None,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
        on_status: Callable[[WorkflowRun], None] | None = None,
    ) -> WorkflowRun:
        """Follow a run until it completes; success returns it, anything else is a PermanentError
        naming the failed jobs and the run's page."""
        self.require_token()
        clock = clock or self.clock
        budget = self._budget(clock, timeout, deadline, cancel)
        latest: list[WorkflowRun] = []

        def probe() -> tuple[bool, str]:
            run = WorkflowRun.from_api(_json(self._request("GET", f"/repos/{self.repository}/actions/runs/{run_id}", budget)))
            latest.append(run)
            if on_status is not None:
                on_status(run)
            return run.completed, f"run {run.id} is {run.status or 'unknown'} ({run.html_url})"

        wait_for(
            probe,
            what=f"GitHub Actions run {run_id}",
            timeout=max(0.0, budget.remaining()),
            clock=clock,
            cancel=cancel,
            interval=10.0,
            max_interval=30.0,
            hint="the run is still going on GitHub: run kyeol again later to pick it up, or follow it in the Actions tab",
        )
        run = latest[-1]
        if run.conclusion == "success":
            return run
        failed = self.failed_jobs(run.id, self._budget(clock, 60.0, None, cancel))
        jobs = f"failed job(s): {', '.join(failed)}" if failed else "no job reported a failure (the run may not have started)"
        raise PermanentError(
            f"GitHub Actions run {run.id} ended {run.conclusion or 'without a conclusion'}: {jobs} ({run.html_url})",
            hint=f"read the logs at {run.html_url}, fix the cause, then run kyeol again",
        )

    # -- transport -----------------------------------------------------------------------

    def _budget(self, clock: Clock, timeout: float, deadline: float | None, cancel: threading.Event | None) -> _Budget:
        end = clock.monotonic() + max(0.0, timeout)
        if deadline is not None:
            end = min(end, deadline)
        return _Budget(clock, end, cancel)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.api_url,
                headers={
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                    "User-Agent": "kyeol",
                    "Authorization": f"Bearer {self._token}",
                },
                timeout=self._request_timeout,
                transport=self._transport,
                follow_redirects=True,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _request(
        self,
        method: str,
        path: str,
        budget: _Budget,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        accept: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One API call, waiting out rate limits within ``budget``; errors classified."""
        if self.read_only and method.upper() not in ("GET", "HEAD"):
            from steps.adapters.process import ReadOnlyRefused

            raise ReadOnlyRefused(f"{method} {path} on GitHub")
        for _ in range(MAX_RATE_LIMIT_ROUNDS):
            self._wait_for_known_reset(budget)
            try:
                resp = self._http().request(
                    method, path, params=params, json=json, timeout=max(1.0, min(self._request_timeout, budget.remaining()))
                )
            except httpx.TimeoutException as exc:
                raise TransientError(f"GitHub API {method} {path} timed out", reason="GitHub timeout") from exc
            except httpx.TransportError as exc:
                raise TransientError(f"GitHub API {method} {path} unreachable: {exc}", reason="GitHub unreachable") from exc
            self._note_limits(resp)
            pause = self._rate_limit_pause(resp, budget)
            if pause is not None:
                self._pause_within(budget, pause, f"rate limited on {method} {path}")
                continue
            if resp.status_code >= 500:
                raise TransientError(
                    f"GitHub API {method} {path} answered {resp.status_code}: {_message(resp)}",
                    reason=f"GitHub {resp.status_code}",
                )
            if resp.status_code < 300 or resp.status_code in accept:
                return resp
            raise self._refusal(method, path, resp)
        raise TransientError(f"GitHub kept rate-limiting {method} {path}", reason="GitHub rate limit")

    def _refusal(self, method: str, path: str, resp: httpx.Response) -> PermanentError:
        code = resp.status_code
        detail = _message(resp)
        if code == 401:
            return PermanentError(f"GitHub rejected the token (401 {detail})", hint=token_instructions(self.repository))
        if code in (403, 404):
            return PermanentError(
                f"GitHub refused {method} {path} ({code} {detail})",
                hint=f"the token may lack access: {token_instructions(self.repository)}; "
                f"a 404 also means the repository or workflow file does not exist on GitHub",
            )
        return PermanentError(f"GitHub API {method} {path} answered {code}: {detail}")

    def _note_limits(self, resp: httpx.Response) -> None:
        remaining = resp.headers.get("x-ratelimit-remaining")
        reset = _number(resp.headers.get("x-ratelimit-reset"))
        if remaining == "0" and reset is not None:
            self._exhausted_until = reset
        elif remaining is not None:
            self._exhausted_until = None

    def _rate_limit_pause(self, resp: httpx.Response, budget: _Budget) -> float | None:
        """Seconds to wait before repeating a rate-limited call, or None if it was not one."""
        if resp.status_code not in (403, 429):
            return None
        retry_after = _number(resp.headers.get("retry-after"))
        if retry_after is not None:
            return max(1.0, retry_after)
        if resp.headers.get("x-ratelimit-remaining") == "0" and self._exhausted_until is not None:
            return max(1.0, self._exhausted_until - budget.clock.now().timestamp())
        if resp.status_code == 429 or "rate limit" in resp.text.lower():
            return SECONDARY_LIMIT_PAUSE_S
        return None

    def _wait_for_known_reset(self, budget: _Budget) -> None:
        if self._exhausted_until is None:
            return
        wait = self._exhausted_until - budget.clock.now().timestamp()
        if wait > 0:
            self._pause_within(budget, wait + 1.0, "rate limit exhausted")
        self._exhausted_until = None

    def _pause_within(self, budget: _Budget, seconds: float, why: str) -> None:
        if seconds > budget.remaining():
            until = (budget.clock.now() + timedelta(seconds=seconds)).strftime("%H:%M:%S UTC")
            raise TransientError(
                f"GitHub {why}: it resets at {until}, after this step's deadline",
                reason="GitHub rate limit",
                hint="run kyeol again after the reset, or use a token with a higher rate limit",
            )
        self._log("warning", "GitHub rate limit: waiting", seconds=round(seconds, 1), why=why)
        budget.pause(seconds, why)

    def _log(self, level: str, event: str, **kw: Any) -> None:
        if self.log is not None:
            getattr(self.log, level)(event, **kw)


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        doc = resp.json()
    except ValueError as exc:
        raise TransientError(
            f"GitHub answered {resp.status_code} with a body that is not JSON", reason="GitHub bad body"
        ) from exc
    return doc if isinstance(doc, dict) else {}


def _message(resp: httpx.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        return resp.text[:200].strip() or resp.reason_phrase
    if isinstance(doc, dict) and doc.get("message"):
        return str(doc["message"])
    return resp.reason_phrase


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
