"""Phase 9 as the engine runs it: the step passes on a healthy site, fails naming the broken
link, waits (on a fake clock, up to its deadline) only for failures that may converge."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import trustme

from runbook.clock import FakeClock
from runbook.errors import PermanentError
from runbook.step import StepContext
from steps.adapters.aws import AwsSession
from steps.adapters.https import LINKS, as_json
from steps.phases.phase9_verify import SETTLE_TIMEOUT_S, VerifyStep, build, run_chain, sites
from steps.wiring.config import load_config
from steps.wiring.services import Services
from tests.standins.saleor_site import Behaviour, SaleorSite, build_edge

ROOT = Path(__file__).resolve().parents[3]
CONFIG = load_config(ROOT / "kyeol.toml")
DEV = CONFIG.env("dev")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def edge(moto_endpoint: str, **kw: Any) -> dict[str, Any]:
    aws = AwsSession("ap-northeast-1", endpoint_url=moto_endpoint)
    return build_edge(aws, domain=DEV.domain, sites=[(s.host, s.origin_host) for s in sites(DEV)], **kw)


def services_for(site: SaleorSite, moto_endpoint: str, ca_bundle: str, clock: FakeClock, *, dry_run: bool = False) -> Services:
    environ = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KYEOL_VERIFY_RESOLVE": site.resolve_override(),
        "KYEOL_VERIFY_CA_BUNDLE": ca_bundle,
    }
    return Services(CONFIG, dry_run=dry_run, clock=clock, environ=environ)


def context(
    step: VerifyStep,
    clock: FakeClock,
    *,
    dry_run: bool = False,
    timeout: float | None = None,
    recorded: dict[str, Any] | None = None,
) -> StepContext:
    return StepContext(
        run_id="run-1",
        step_id=step.id,
        env="dev",
        dry_run=dry_run,
        clock=clock,
        log=None,
        outputs={step.id: recorded} if recorded else {},
        deadline=clock.monotonic() + (timeout or step.timeout_s),
    )


def serve(ca: trustme.CA, behaviour: Behaviour | None = None, cert: trustme.LeafCert | None = None) -> SaleorSite:
    cert = cert or ca.issue_cert(DEV.service_host, DEV.api_host)
    return SaleorSite(cert, storefront_host=DEV.service_host, api_host=DEV.api_host, behaviour=behaviour)


def test_the_step_is_wired_as_phase_9(clock: FakeClock) -> None:
    (step,) = build(Services(CONFIG, clock=clock, environ={}), DEV)
    assert (step.id, step.phase, step.needs, step.scope, step.verification) == ("dev.verify", 9, ("dev.sync",), "dev", True)
    assert step.timeout_s > SETTLE_TIMEOUT_S
    assert [s.host for s in sites(DEV)] == ["dev.mgz-g2-u3.shop", "dev-api.mgz-g2-u3.shop"]
    assert [s.origin_host for s in sites(CONFIG.env("prod"))] == ["origin.mgz-g2-u3.shop", "origin-api.mgz-g2-u3.shop"]


def test_a_healthy_env_verifies_and_records_the_link_table(
    moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock
) -> None:
    edge(moto_endpoint)
    with serve(ca) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        first = step.check(context(step, clock))
        outputs = step.apply(context(step, clock))
        checked = step.check(context(step, clock, recorded=outputs))
    # Never verified in this state: the run verifies (apply); a recorded pass is re-checked.
    assert not first.done and first.reason == "not verified yet"
    assert checked.done and checked.outputs["verified"] is True
    assert outputs["verified"] is True
    assert [(link["link"], link["status"]) for link in outputs["links"]] == [(link, "pass") for _ in range(2) for link in LINKS]
    assert clock.sleeps == []


def test_a_wrong_certificate_fails_at_once_naming_tls(moto_endpoint: str, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint)
    with serve(trustme.CA()) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        with pytest.raises(PermanentError) as err:
            step.apply(context(step, clock))
    assert str(err.value).startswith("dev verification failed at TLS:")
    assert "not trusted" in str(err.value) and "ACM certificate" in err.value.hint
    assert clock.sleeps == []  # a definite failure is not waited on


def test_missing_hsts_fails_naming_hsts(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint)
    with serve(ca, Behaviour(hsts=None)) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        with pytest.raises(PermanentError, match="failed at HSTS: HSTS dev.mgz-g2-u3.shop") as err:
            step.apply(context(step, clock))
    assert "response headers policy" in err.value.hint


def test_a_graphql_error_fails_naming_http(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint)
    with serve(ca, Behaviour(graphql={"errors": [{"message": "boom"}]})) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        with pytest.raises(PermanentError, match="failed at HTTP: .*GraphQL error: boom"):
            step.apply(context(step, clock))


def test_a_missing_alias_fails_naming_dns(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint, skip_alias=(DEV.service_host,))
    with serve(ca) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        with pytest.raises(PermanentError, match="failed at DNS: DNS dev.mgz-g2-u3.shop: Route53 zone") as err:
            step.apply(context(step, clock))
    assert "Route53" in err.value.hint


def test_a_starting_backend_is_waited_for(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint)
    with serve(ca, Behaviour(statuses={"/health/": [502, 503]})) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        outputs = step.apply(context(step, clock))
    assert outputs["verified"] is True
    assert clock.sleeps == [15.0, 30.0]


def test_a_backend_that_never_comes_up_fails_at_the_deadline(
    moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock
) -> None:
    edge(moto_endpoint)
    start = clock.monotonic()
    with serve(ca, Behaviour(statuses={"/dashboard/": [503] * 10_000})) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        with pytest.raises(PermanentError) as err:
            step.apply(context(step, clock))
    assert "failed at HTTP (still failing after 16 minutes)" in str(err.value)
    assert "/dashboard/ answered 503" in str(err.value)
    assert clock.monotonic() - start == pytest.approx(SETTLE_TIMEOUT_S)


def test_the_wait_never_outlives_the_step_deadline(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint)
    start = clock.monotonic()
    with serve(ca, Behaviour(statuses={"/health/": [503] * 10_000})) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock), DEV)
        with pytest.raises(PermanentError, match="failed at HTTP"):
            step.apply(context(step, clock, timeout=100))
    assert clock.monotonic() - start == pytest.approx(100)


def test_dry_run_plans_without_touching_the_network(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    with serve(ca) as site:
        step = VerifyStep(services_for(site, moto_endpoint, ca_bundle, clock, dry_run=True), DEV)
        ctx = context(step, clock, dry_run=True)
        checked = step.check(ctx)
        plan = step.plan(ctx)
        # After a recorded pass, a dry-run has nothing to plan, still without a request to the site.
        again = step.check(context(step, clock, dry_run=True, recorded={"verified": True, "links": []}))
    assert not checked.done and "after the app is synced" in checked.reason
    assert plan.changes[0].action == "read" and "DNS → TLS → edge → HTTP → HSTS" in plan.changes[0].detail
    assert again.done
    assert site.requests == [] and site.sni == []


def test_run_chain_gives_the_cli_its_table_and_json(moto_endpoint: str, ca: trustme.CA, ca_bundle: str, clock: FakeClock) -> None:
    edge(moto_endpoint)
    with serve(ca, Behaviour(hsts="max-age=60")) as site:
        results = run_chain(services_for(site, moto_endpoint, ca_bundle, clock), "dev")
    doc = json.loads(json.dumps(as_json("dev", results)))
    assert doc["ok"] is False and doc["failed_links"] == ["HSTS"]
    assert len(doc["links"]) == 10 and {link["target"] for link in doc["links"]} == {DEV.service_host, DEV.api_host}
    assert set(doc["links"][0]) == {"link", "target", "status", "ok", "pending", "detail"}
