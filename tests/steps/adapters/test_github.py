"""The GitHub adapter against the GitHub API stand-in: dispatch, run finding, following,
rate limits, errors and the token's secrecy."""

from __future__ import annotations

import pytest

from runbook.clock import FakeClock
from runbook.errors import PermanentError, TransientError, Unavailable, WaitTimeout
from runbook.redact import Redactor
from steps.adapters.github import GitHub, WorkflowRun, token_instructions
from tests.standins.fake_github import FakeGitHub, RunScript

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
REPO = "kyeol/kyeol"
INPUTS = {"env": "dev", "tags": "saleor-api=3.23.28"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock):
    with FakeGitHub(token=TOKEN, repository=REPO, now=lambda: clock.now().timestamp()) as server:
        yield server


def client(fake: FakeGitHub, clock: FakeClock, token: str | None = TOKEN, redactor: Redactor | None = None) -> GitHub:
    return GitHub(token, api_url=fake.url, repository=REPO, redactor=redactor or Redactor(), clock=clock)


def test_dispatch_finds_the_run_by_its_correlation_id(fake: FakeGitHub, clock: FakeClock) -> None:
    gh = client(fake, clock)
    # Someone else's dispatch of the same workflow must not be mistaken for ours.
    client(fake, clock).dispatch_workflow(
        "images.yml", "main", {"env": "prod", "tags": "saleor-api=3.23.28"}, correlation_id="other-1"
    )
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, correlation_id="kyeol-dev-abc123", clock=clock)
    assert isinstance(run, WorkflowRun)
    assert "kyeol-dev-abc123" in run.display_title
    assert fake.runs[run.id].inputs == {**INPUTS, "correlation_id": "kyeol-dev-abc123"}
    # The run is listed with a delay: kyeol polled the list (on the fake clock) until it showed up.
    lists = [r for r in fake.requests if r[1].endswith("/workflows/images.yml/runs")]
    assert len(lists) >= 2 and clock.sleeps


def test_dispatch_title_comes_from_the_real_workflow_run_name(fake: FakeGitHub, clock: FakeClock) -> None:
    run = client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, correlation_id="kyeol-x1", clock=clock)
    assert run.display_title == "images dev kyeol-x1"


def test_dispatch_uses_returned_run_details_when_offered(clock: FakeClock) -> None:
    with FakeGitHub(token=TOKEN, repository=REPO, now=lambda: clock.now().timestamp(), dispatch_mode="details") as fake:
        run = client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
        assert run.id in fake.runs
        assert not [r for r in fake.requests if r[1].endswith("/runs") and "workflows" in r[1]]
        assert fake.dispatches[0]["return_run_details"] is True


def test_dispatch_falls_back_when_the_server_rejects_run_details(clock: FakeClock) -> None:
    with FakeGitHub(token=TOKEN, repository=REPO, now=lambda: clock.now().timestamp(), dispatch_mode="reject-field") as fake:
        run = client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, correlation_id="kyeol-ghes", clock=clock)
        assert "kyeol-ghes" in run.display_title
        statuses = [s for (m, p, s) in fake.requests if m == "POST"]
        assert statuses == [400, 204]
        assert "return_run_details" not in fake.dispatches[0]


def test_dispatch_with_unknown_inputs_fails_with_the_servers_reason(fake: FakeGitHub, clock: FakeClock) -> None:
    with pytest.raises(PermanentError, match="Unexpected inputs provided") as err:
        client(fake, clock).dispatch_workflow("images.yml", "main", {**INPUTS, "colour": "red"}, clock=clock)
    assert "workflow_dispatch" in err.value.hint


def test_find_run_gives_up_at_its_deadline(fake: FakeGitHub, clock: FakeClock) -> None:
    gh = client(fake, clock)
    real_dispatch = fake._dispatch

    def never_listed(workflow: str, raw: bytes):
        answer = real_dispatch(workflow, raw)
        for run in fake.runs.values():
            run.listed_after = 10**6
        return answer

    fake._dispatch = never_listed  # type: ignore[method-assign]
    start = clock.monotonic()
    with pytest.raises(WaitTimeout, match="the images.yml run for kyeol-lost"):
        gh.dispatch_workflow("images.yml", "main", INPUTS, correlation_id="kyeol-lost", clock=clock, timeout=60)
    assert clock.monotonic() - start <= 60


def test_wait_run_follows_the_run_to_success(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.script_next_run(RunScript(statuses=("queued", "queued", "in_progress", "in_progress", "completed")))
    gh = client(fake, clock)
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    seen: list[str] = []
    done = gh.wait_run(run.id, timeout=600, clock=clock, on_status=lambda r: seen.append(r.status))
    assert done.conclusion == "success"
    assert seen[-1] == "completed" and "in_progress" in seen and "queued" in seen


def test_wait_run_failure_names_the_failed_jobs_and_the_run_page(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.script_next_run(
        RunScript(
            conclusion="failure",
            jobs=(
                ("plan", "success"),
                ("build (saleor-api)", "success"),
                ("build (saleor-storefront)", "failure"),
                ("bump overlay", "skipped"),
            ),
        )
    )
    gh = client(fake, clock)
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    with pytest.raises(PermanentError) as err:
        gh.wait_run(run.id, timeout=600, clock=clock)
    message = str(err.value)
    assert "build (saleor-storefront)" in message and "build (saleor-api)" not in message
    assert f"https://github.com/{REPO}/actions/runs/{run.id}" in message
    assert "failure" in message


def test_wait_run_cancelled_is_a_failure(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.script_next_run(RunScript(conclusion="cancelled", jobs=(("build (saleor-api)", "cancelled"),)))
    gh = client(fake, clock)
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    with pytest.raises(PermanentError, match="ended cancelled: failed job\\(s\\): build \\(saleor-api\\)"):
        gh.wait_run(run.id, timeout=600, clock=clock)


def test_wait_run_has_a_deadline(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.script_next_run(RunScript(statuses=("queued", "in_progress")))  # never completes
    gh = client(fake, clock)
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    start = clock.monotonic()
    with pytest.raises(WaitTimeout, match=f"GitHub Actions run {run.id}.*in_progress"):
        gh.wait_run(run.id, timeout=1500, clock=clock)
    assert 1500 - 1 <= clock.monotonic() - start <= 1500


def test_no_token_says_exactly_what_to_provide_and_sends_nothing(fake: FakeGitHub, clock: FakeClock) -> None:
    gh = client(fake, clock, token=None)
    with pytest.raises(Unavailable) as err:
        gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    assert str(err.value) == f"no GitHub token: {token_instructions(REPO)}"
    assert "set GITHUB_TOKEN to a token with actions:write on kyeol/kyeol (fine-grained: Actions read/write)" in str(err.value)
    assert "personal-access-tokens" in err.value.hint
    assert fake.requests == []


def test_a_rejected_token_is_permanent(fake: FakeGitHub, clock: FakeClock) -> None:
    gh = client(fake, clock, token="ghp_" + "Z" * 36)
    with pytest.raises(PermanentError, match="401 Bad credentials") as err:
        gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    assert "actions:write" in err.value.hint


def test_exhausted_rate_limit_waits_until_the_reset(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.exhaust_rate_limit(until=clock.now().timestamp() + 300)
    gh = client(fake, clock)
    start = clock.monotonic()
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock, timeout=900)
    assert run.id in fake.runs
    assert clock.sleeps[0] >= 300  # waited for the reset before repeating the call
    assert clock.monotonic() - start < 900
    assert [s for (_, _, s) in fake.requests][:2] == [403, 204]


def test_exhausted_rate_limit_past_the_deadline_is_transient_and_does_not_sleep(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.exhaust_rate_limit(until=clock.now().timestamp() + 3600)
    gh = client(fake, clock)
    with pytest.raises(TransientError, match="after this step's deadline") as err:
        gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock, timeout=120)
    assert err.value.reason == "GitHub rate limit"
    assert clock.sleeps == []


def test_secondary_rate_limit_honours_retry_after(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.throttle(2, status=429, retry_after=45)
    gh = client(fake, clock)
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock, timeout=600)
    assert run.id in fake.runs
    assert clock.sleeps[:2] == [45, 45]


def test_forbidden_with_retry_after_is_a_rate_limit(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.throttle(1, status=403, retry_after=20)
    run = client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, clock=clock, timeout=600)
    assert run.id in fake.runs and clock.sleeps[0] == 20


def test_server_errors_are_transient(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail_next(1, status=503)
    with pytest.raises(TransientError) as err:
        client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    assert err.value.reason == "GitHub 503"


def test_unreachable_api_is_transient(clock: FakeClock) -> None:
    gh = GitHub(TOKEN, api_url="http://127.0.0.1:9", repository=REPO, redactor=Redactor(), clock=clock)
    with pytest.raises(TransientError) as err:
        gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    assert err.value.reason == "GitHub unreachable"


def test_token_is_registered_for_redaction_and_never_shown(fake: FakeGitHub, clock: FakeClock) -> None:
    redactor = Redactor()
    gh = client(fake, clock, redactor=redactor)
    assert TOKEN not in repr(gh)
    assert redactor.redact(f"Authorization: token {TOKEN} and {TOKEN}").count(TOKEN) == 0
    fake.script_next_run(RunScript(conclusion="failure", jobs=(("build (saleor-api)", "failure"),)))
    run = gh.dispatch_workflow("images.yml", "main", INPUTS, clock=clock)
    with pytest.raises(PermanentError) as err:
        gh.wait_run(run.id, timeout=600, clock=clock)
    assert TOKEN not in str(err.value) + err.value.hint


def test_a_dispatch_whose_answer_is_lost_is_found_not_sent_again(fake: FakeGitHub, clock: FakeClock) -> None:
    """Issue 10 (3): GitHub created the run but the answer was lost (502). The adapter looks
    for the run by its correlation id before calling the dispatch failed, so the caller's
    retry does not dispatch a second run."""
    fake.lose_dispatch_answers(1)
    run = client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, correlation_id="kyeol-dev-lost01", clock=clock)
    assert "kyeol-dev-lost01" in run.display_title
    assert len(fake.dispatches) == 1


def test_a_dispatch_that_did_not_happen_is_still_a_transient_error(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail_next(1, status=502)
    with pytest.raises(TransientError):
        client(fake, clock).dispatch_workflow("images.yml", "main", INPUTS, correlation_id="kyeol-dev-none01", clock=clock)
    assert fake.dispatches == []
