"""Stand-in for the GitHub REST API (Actions endpoints only), served on 127.0.0.1.

GitHub cannot be reached from the test machines, so this small threaded HTTP server answers
the four endpoints kyeol uses — dispatch, list a workflow's runs, get a run, list a run's jobs —
the way api.github.com does: bearer-token check, rate-limit headers, 403/429 throttling, and
runs that progress queued → in_progress → completed one poll at a time.

Dispatch inputs are checked against the real workflow file in ``.github/workflows/`` (unknown
or missing required inputs answer 422, as GitHub does), and a run's title is that file's
``run-name`` with ``inputs.*`` substituted, so the tests exercise the real workflow contract.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class RunScript:
    """How the next dispatched run behaves: the statuses it shows, one per poll, and its jobs."""

    statuses: tuple[str, ...] = ("queued", "in_progress", "completed")
    conclusion: str = "success"
    jobs: tuple[tuple[str, str], ...] = (("plan", "success"), ("build (saleor-api)", "success"), ("bump", "success"))
    # Called with the run's inputs when it completes successfully (e.g. push images to moto ECR).
    on_success: Callable[[dict[str, str]], None] | None = None
    # Seconds the run takes on the server's clock, whoever polls it (then ``statuses`` is not
    # used): in_progress until then, completed after, ``on_success`` called at that moment.
    complete_after_s: float | None = None
    # How many list calls miss the new run (GitHub lists new runs with a delay).
    listed_after: int = 1


@dataclass
class FakeRun:
    id: int
    workflow: str
    ref: str
    inputs: dict[str, str]
    title: str
    created_at: str
    script: RunScript
    polls: int = 0
    listed_after: int = 1  # how many list calls miss it (GitHub lists new runs with a delay)
    done_hook_called: bool = False
    due_at: float | None = None  # with a timed script: when it completes (the server's clock)
    now: Callable[[], float] | None = None

    @property
    def status(self) -> str:
        if self.due_at is not None and self.now is not None:
            return "completed" if self.now() >= self.due_at else "in_progress"
        return self.script.statuses[min(self.polls, len(self.script.statuses) - 1)]

    def as_api(self, base: str, repo: str) -> dict[str, Any]:
        status = self.status
        return {
            "id": self.id,
            "name": self.workflow,
            "display_title": self.title,
            "event": "workflow_dispatch",
            "head_branch": self.ref,
            "status": status,
            "conclusion": self.script.conclusion if status == "completed" else None,
            "created_at": self.created_at,
            "html_url": f"https://github.com/{repo}/actions/runs/{self.id}",
            "url": f"{base}/repos/{repo}/actions/runs/{self.id}",
        }


@dataclass
class _Throttle:
    status: int
    retry_after: float | None
    count: int


class FakeGitHub:
    """The stand-in server. Use as a context manager; ``url`` is its API base URL."""

    def __init__(
        self,
        *,
        token: str,
        repository: str,
        now: Callable[[], float] = time.time,
        dispatch_mode: str = "no-content",
        workflows_dir: Path = WORKFLOWS,
    ) -> None:
        if dispatch_mode not in ("details", "no-content", "reject-field"):
            raise ValueError(dispatch_mode)
        self.token = token
        self.repository = repository
        self.now = now
        self.dispatch_mode = dispatch_mode
        self.workflows_dir = workflows_dir
        self.runs: dict[int, FakeRun] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.dispatches: list[dict[str, Any]] = []
        self._scripts: list[RunScript] = []
        # What a dispatched run does when no script was queued for it (None: RunScript()).
        self.default_script: RunScript | None = None
        self._throttles: list[_Throttle] = []
        self._exhausted_until: float | None = None
        self._failures: list[int] = []
        self._lost_dispatches = 0  # dispatches carried out whose answer is a 502 (lost)
        self._chaos: tuple[Any, float] | None = None
        self._next_id = 9000
        self._remaining = 5000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------------

    def script_next_run(self, script: RunScript) -> None:
        self._scripts.append(script)

    def chaos(self, rate: float, *, seed: int) -> None:
        """Random 502/503 answers (before anything is carried out) with probability ``rate``."""
        import random

        with self._lock:
            self._chaos = (random.Random(seed), rate)

    def lose_dispatch_answers(self, count: int = 1) -> None:
        """The next ``count`` dispatches create their run but answer 502 (a gateway lost the answer)."""
        with self._lock:
            self._lost_dispatches += count

    def throttle(self, count: int = 1, *, status: int = 429, retry_after: float | None = 30) -> None:
        """The next ``count`` requests answer ``status`` with ``retry-after`` (secondary limit)."""
        self._throttles.append(_Throttle(status, retry_after, count))

    def exhaust_rate_limit(self, until: float) -> None:
        """Every request before epoch ``until`` answers 403 with x-ratelimit-remaining 0."""
        self._exhausted_until = until

    def fail_next(self, count: int = 1, status: int = 502) -> None:
        self._failures.extend([status] * count)

    # -- server ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- request handling ------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self._lock:
            status, body, headers = self._answer(
                method, parts.path, parse_qs(parts.query), raw, h.headers.get("Authorization", "")
            )
            self.requests.append((method, parts.path, status))
        payload = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if payload:
            h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if payload:
            h.wfile.write(payload)

    def _limit_headers(self) -> dict[str, str]:
        reset = int(self._exhausted_until or self.now() + 3600)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self._remaining),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        if auth != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "status": "401"}, {}
        if self._exhausted_until is not None:
            if self.now() < self._exhausted_until:
                self._remaining = 0
                return 403, {"message": "API rate limit exceeded for user."}, self._limit_headers()
            self._exhausted_until = None
            self._remaining = 5000
        if self._throttles:
            t = self._throttles[0]
            t.count -= 1
            if t.count <= 0:
                self._throttles.pop(0)
            headers = {"retry-after": str(int(t.retry_after))} if t.retry_after is not None else {}
            return t.status, {"message": "You have exceeded a secondary rate limit."}, headers
        if self._failures:
            return self._failures.pop(0), {"message": "Server Error"}, {}
        if self._chaos is not None and self._chaos[0].random() < self._chaos[1]:
            return 502, {"message": "Server Error"}, {}
        self._remaining = max(0, self._remaining - 1)
        headers = self._limit_headers()

        prefix = f"/repos/{self.repository}/actions"
        m = re.fullmatch(re.escape(prefix) + r"/workflows/([^/]+)/dispatches", path)
        if m and method == "POST":
            status, answer = self._dispatch(m.group(1), raw)
            if status < 300 and self._lost_dispatches > 0:
                self._lost_dispatches -= 1
                return 502, {"message": "Server Error"}, headers
            return status, answer, headers
        m = re.fullmatch(re.escape(prefix) + r"/workflows/([^/]+)/runs", path)
        if m and method == "GET":
            return 200, self._list(m.group(1), query), headers
        m = re.fullmatch(re.escape(prefix) + r"/runs/(\d+)", path)
        if m and method == "GET":
            run = self.runs.get(int(m.group(1)))
            if run is None:
                return 404, {"message": "Not Found"}, headers
            self._advance(run)
            return 200, run.as_api(self.url, self.repository), headers
        m = re.fullmatch(re.escape(prefix) + r"/runs/(\d+)/jobs", path)
        if m and method == "GET":
            run = self.runs.get(int(m.group(1)))
            if run is None:
                return 404, {"message": "Not Found"}, headers
            done = run.status == "completed"
            jobs = [
                {
                    "id": run.id * 10 + i,
                    "name": name,
                    "status": "completed" if done else run.status,
                    "conclusion": conclusion if done else None,
                }
                for i, (name, conclusion) in enumerate(run.script.jobs)
            ]
            return 200, {"total_count": len(jobs), "jobs": jobs}, headers
        return 404, {"message": "Not Found"}, headers

    def _workflow(self, name: str) -> dict[str, Any] | None:
        path = self.workflows_dir / name
        if not path.is_file():
            return None
        return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # "on" stays a string key

    def _dispatch(self, workflow: str, raw: bytes) -> tuple[int, Any]:
        doc = self._workflow(workflow)
        if doc is None:
            return 404, {"message": "Not Found"}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"message": "Problems parsing JSON"}
        if "return_run_details" in body and self.dispatch_mode == "reject-field":
            return 400, {"message": 'Invalid request.\n\n"return_run_details" is not a permitted key.'}
        trigger = (doc.get("on") or {}).get("workflow_dispatch")
        if trigger is None:
            return 422, {"message": "Workflow does not have 'workflow_dispatch' trigger"}
        declared = (trigger or {}).get("inputs") or {}
        inputs = body.get("inputs") or {}
        unexpected = sorted(set(inputs) - set(declared))
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {unexpected}"}
        for name, spec in declared.items():
            if str(spec.get("required", "false")).lower() == "true" and not inputs.get(name):
                return 422, {"message": f"Required input '{name}' not provided"}
            if spec.get("type") == "choice" and name in inputs and inputs[name] not in spec.get("options", []):
                return 422, {"message": f"Provided value '{inputs[name]}' for input '{name}' not in the list of allowed values"}
        if not isinstance(body.get("ref"), str) or not body["ref"]:
            return 422, {"message": "Invalid value for parameter 'ref'"}
        script = self._scripts.pop(0) if self._scripts else (self.default_script or RunScript())
        run_id = self._next_id
        self._next_id += 1
        run = FakeRun(
            id=run_id,
            workflow=str(doc.get("name") or workflow),
            ref=body["ref"],
            inputs={k: str(v) for k, v in inputs.items()},
            title=_render_run_name(doc.get("run-name") or str(doc.get("name") or workflow), inputs),
            created_at=datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            script=script,
            listed_after=script.listed_after,
        )
        if script.complete_after_s is not None:
            run.due_at, run.now = self.now() + script.complete_after_s, self.now
            timer = threading.Timer(script.complete_after_s, self._finish_timed, args=(run,))
            timer.daemon = True
            timer.start()
        self.runs[run_id] = run
        self.dispatches.append(body)
        if self.dispatch_mode == "details" and body.get("return_run_details"):
            return 200, {
                "workflow_run_id": run_id,
                "run_url": f"{self.url}/repos/{self.repository}/actions/runs/{run_id}",
                "html_url": f"https://github.com/{self.repository}/actions/runs/{run_id}",
            }
        return 204, None

    def _list(self, workflow: str, query: dict[str, list[str]]) -> dict[str, Any]:
        event = (query.get("event") or [""])[0]
        created = (query.get("created") or [""])[0]
        since = created[2:] if created.startswith(">=") else ""
        runs = []
        for run in sorted(self.runs.values(), key=lambda r: -r.id):
            if event and event != "workflow_dispatch":
                continue
            if since and run.created_at < since:
                continue
            if run.listed_after > 0:
                run.listed_after -= 1
                continue
            runs.append(run.as_api(self.url, self.repository))
        return {"total_count": len(runs), "workflow_runs": runs}

    def _advance(self, run: FakeRun) -> None:
        run.polls += 1
        self._complete(run)

    def _complete(self, run: FakeRun) -> None:
        if run.status == "completed" and run.script.conclusion == "success" and not run.done_hook_called:
            run.done_hook_called = True
            if run.script.on_success is not None:
                run.script.on_success(dict(run.inputs))

    def _finish_timed(self, run: FakeRun) -> None:
        """A timed run completes on its own, like a real workflow nobody is watching (timed
        scripts need a server clock that moves with real time)."""
        for _ in range(100):  # the timer and the clock may disagree by a tick
            if run.due_at is None or self.now() >= run.due_at:
                break
            time.sleep(0.01)
        with self._lock:
            self._complete(run)


def _render_run_name(template: str, inputs: dict[str, Any]) -> str:
    """Substitute ``${{ inputs.x }}`` and ``${{ inputs.x || 'literal' }}`` as GitHub would."""

    def one(m: re.Match[str]) -> str:
        value = ""
        for alternative in (a.strip() for a in m.group(1).split("||")):
            if alternative.startswith("inputs."):
                value = str(inputs.get(alternative[len("inputs.") :], "") or "")
            elif alternative[:1] in "'\"":
                value = alternative[1:-1]
            if value:
                return value
        return value

    return _EXPR.sub(one, template)
