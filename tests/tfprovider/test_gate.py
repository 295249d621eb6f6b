"""The gate: the real ``terraform`` inits, validates, plans (from an empty state), applies and
outputs every root of kyeol-infra-terraform through the provider stand-in, and each root's
outputs are what kyeol's steps require of it, with the shapes kyeol records.

Roots are discovered (``tree.roots``), never listed, so a root another branch adds is gated
too. The values passed are those kyeol passes (each step's ``variables()``, fed with the
outputs of the roots applied before, as kyeol chains them) plus ``gate.FILLED_IN``.
"""

from __future__ import annotations

import json
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from runbook.errors import OutputUnknown
from steps.phases.terraform_root import TerraformRootStep
from steps.wiring.config import TARGET_ENVS, load_config
from steps.wiring.project import build_steps
from steps.wiring.services import Services
from tests.tfprovider import gate, tree
from tests.tfprovider.conftest import INFRA

pytestmark = pytest.mark.slow
REPO = INFRA.parent
ROOTS = gate.root_order(tree.roots(INFRA))
# The whole gate's budget on CI's 2 cores (issue 9): wall time per root and in total is reported;
# what is asserted is the CPU time all its processes use, which a loaded machine does not inflate:
# within 180 s of CPU the gate fits 3 minutes even on one free core.
BUDGET_S = 180.0


def root_steps() -> dict[str, list[TerraformRootStep]]:
    """Every Terraform step of every target environment, by the root it applies."""
    config = load_config(REPO / "kyeol.toml")
    by_root: dict[str, dict[str, TerraformRootStep]] = {}
    for env in TARGET_ENVS:
        for step in build_steps(Services(config), env):
            if isinstance(step, TerraformRootStep):
                by_root.setdefault(step.root, {})[step.id] = step
    return {root: list(steps.values()) for root, steps in by_root.items()}


class _Outputs:
    """The part of a step context that ``variables()`` reads: earlier steps' outputs."""

    def __init__(self, by_step: dict[str, dict[str, Any]]):
        self.by_step = by_step

    def outputs_of(self, step_id: str) -> dict[str, Any]:
        if step_id not in self.by_step:
            raise OutputUnknown(f"outputs of step {step_id!r} are not known yet", hint="apply it first")
        return self.by_step[step_id]

    def output(self, step_id: str, key: str) -> Any:
        return self.outputs_of(step_id)[key]


def recorded_shapes() -> dict[str, dict[str, str]]:
    """JSON type names of the outputs kyeol records, per step kind (state.json.example, itself
    tested against the real steps): ``dev.infra`` stands for every ``<env>.infra``."""
    steps = json.loads((REPO / "state.json.example").read_text())["steps"]
    return {
        sid.replace("dev.", "<env>."): {k: type(v).__name__ for k, v in rec.get("outputs", {}).items()}
        for sid, rec in steps.items()
    }


def record_key(step_id: str) -> str:
    """The state.json.example record that shows *step_id*'s outputs (``dev.infra`` for every env)."""
    env, _, rest = step_id.partition(".")
    return f"<env>.{rest}" if rest == "infra" and env != "mgmt" else step_id


def output_problems(step: TerraformRootStep, outputs: dict[str, Any], shapes: dict[str, dict[str, str]]) -> list[str]:
    """What *step* requires of ``terraform output -json`` and does not get: a missing or empty
    output, or one whose JSON type differs from what kyeol records for it."""
    recorded = shapes.get(record_key(step.id), {})
    problems = []
    for name in step.required_outputs:
        out = outputs.get(name)
        if out is None or out["value"] in (None, "", [], {}):
            problems.append(f"{step.id} requires output {name}: {'missing' if out is None else 'empty'}")
            continue
        want, got = recorded.get(name), type(out["value"]).__name__
        if want is None:
            problems.append(f"{step.id} output {name}: state.json.example records no shape for it")
        elif got != want:
            problems.append(f"{step.id} output {name} is a {got}, kyeol records a {want}")
    return problems


def test_output_check_reports_missing_empty_and_mistyped_outputs() -> None:
    env_infra = next(s for s in root_steps()["envs/stage"] if s.id == "stage.infra")
    good = {
        name: {"value": {"api": "E1"} if name in ("cloudfront_distribution_ids", "secret_arns") else "x"}
        for name in env_infra.required_outputs
    }
    assert output_problems(env_infra, good, recorded_shapes()) == []
    bad = dict(good, rds_endpoint={"value": ""}, secret_arns={"value": ["arn"]})
    del bad["vpc_id"]
    assert sorted(output_problems(env_infra, bad, recorded_shapes())) == [
        "stage.infra output secret_arns is a list, kyeol records a dict",
        "stage.infra requires output rds_endpoint: empty",
        "stage.infra requires output vpc_id: missing",
    ]


@pytest.fixture(scope="module")
def gate_runs(standin, tmp_path_factory) -> dict[str, gate.RootRun | Exception]:
    """Every root, in waves: a root runs once the outputs its steps' ``variables()`` read are
    known (as kyeol chains them). Roots run one at a time: terraform already plans and applies
    in parallel inside a root, and two roots at once were slower on a loaded 2-core machine."""
    tree_copy = gate.copy_tree(INFRA, tmp_path_factory.mktemp("gate"))
    steps = root_steps()
    outputs_by_step: dict[str, dict[str, Any]] = {}
    results: dict[str, gate.RootRun | Exception] = {}
    pending = list(ROOTS)
    started, cpu_before = time.monotonic(), _children_cpu()
    while pending:
        wave: dict[str, dict[str, Any]] = {}
        for root in pending:
            declared = gate.declared_variables(tree_copy / root)
            values: dict[str, Any] = {k: v for k, v in gate.FILLED_IN.items() if k in declared}
            try:
                for step in steps.get(root, []):
                    values.update({k: v for k, v in (step.variables(_Outputs(outputs_by_step)) or {}).items() if k in declared})
            except OutputUnknown:
                continue  # needs a root of a later wave
            wave[root] = values
        if not wave:  # what they wait for failed or never comes
            for root in pending:
                results[root] = AssertionError(f"{root}: the outputs its variables need never became known")
            break
        with ThreadPoolExecutor(max_workers=1) as pool:
            futures = {root: pool.submit(gate.run_root, standin, tree_copy / root, values) for root, values in wave.items()}
        for root, future in futures.items():
            pending.remove(root)
            try:
                run = future.result()
            except gate.TerraformFailed as exc:
                results[root] = exc
                continue
            results[root] = run
            plain = {name: out["value"] for name, out in run.outputs.items()}
            for step in steps.get(root, []):
                outputs_by_step[step.id] = plain
    WALL["seconds"] = time.monotonic() - started
    WALL["cpu"] = _children_cpu() - cpu_before
    return results


WALL: dict[str, float] = {}


def _children_cpu() -> float:
    """CPU seconds of every finished child process (terraform, and the provider processes it
    reaps): unlike wall time, it does not grow when other jobs load the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("root", ROOTS)
def test_root_plans_applies_and_outputs_what_kyeol_reads(root: str, gate_runs, gate_summary) -> None:
    result = gate_runs[root]
    if isinstance(result, Exception):
        raise result
    gate_summary.append(f"{root}: {result.total:.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()) + ")")
    problems = [p for step in root_steps().get(root, []) for p in output_problems(step, result.outputs, recorded_shapes())]
    assert not problems, f"{root}: " + "; ".join(problems)


def test_a_second_plan_of_an_applied_env_root_has_no_changes(standin, gate_runs) -> None:
    """envs/dev stands for the env roots (they share modules/saleor-environment); kept out of
    the gate's budget, which covers init, validate, plan, apply and output."""
    run = gate_runs["envs/dev"]
    if isinstance(run, Exception):
        raise run
    gate.replan(standin, run)


def test_every_root_ran_and_the_gate_fits_its_budget(gate_runs, gate_summary) -> None:
    assert ROOTS and {"envs/bootstrap", "envs/mgmt"} <= set(ROOTS), f"root discovery found {ROOTS}"
    runs = [r for r in gate_runs.values() if isinstance(r, gate.RootRun)]
    cpu = WALL["cpu"]
    gate_summary.append(f"all {len(runs)} roots: {WALL['seconds']:.1f} s wall, {cpu:.1f} s CPU (budget {BUDGET_S:.0f} s CPU)")
    assert len(runs) == len(ROOTS), "a root failed: see its own test"
    assert cpu <= BUDGET_S, f"the gate used {cpu:.0f} s of CPU, over its {BUDGET_S:.0f} s budget (3 minutes on CI's 2 cores)"


# -- what the applied roots hold (issue 12: audit baseline and least privilege) ---------------
# Read from the state the real terraform wrote (`terraform show -json`): the policies are the
# ones aws_iam_policy_document rendered from the tree, not a re-reading of the HCL.


def applied(standin, gate_runs, root: str) -> dict[str, dict[str, Any]]:
    """Every resource of an applied root, by address, with its attribute values."""
    run = gate_runs[root]
    if isinstance(run, Exception):
        raise run
    state = json.loads(gate.terraform(standin, run.root_dir, "show", "-json", "-no-color"))
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            found[res["address"]] = res["values"]
        for child in module.get("child_modules", []):
            walk(child)

    walk(state["values"]["root_module"])
    return found


def _statements(policy: str) -> list[dict[str, Any]]:
    return json.loads(policy)["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_trail_bucket_is_object_locked_in_governance_mode_and_denies_non_tls(standin, gate_runs) -> None:
    res = applied(standin, gate_runs, "envs/account")
    bucket = res["aws_s3_bucket.audit"]
    assert bucket["object_lock_enabled"] is True
    lock = res["aws_s3_bucket_object_lock_configuration.audit"]["rule"][0]["default_retention"][0]
    assert lock["mode"] == "GOVERNANCE" and lock["days"] == 731  # the 2-year default
    deny = [s for s in _statements(res["aws_s3_bucket_policy.audit"]["policy"]) if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(_as_list(deny[0]["Resource"])) == {bucket["arn"], bucket["arn"] + "/*"} and deny[0]["Principal"] == "*"
    logging = res["aws_s3_bucket_logging.audit"]
    assert logging["target_bucket"] == res["module.logs.aws_s3_bucket.this"]["id"]


def test_the_trail_is_multi_region_validated_encrypted_and_records_kyeols_buckets(standin, gate_runs) -> None:
    res = applied(standin, gate_runs, "envs/account")
    trail = res["aws_cloudtrail.this[0]"]
    assert trail["is_multi_region_trail"] and trail["enable_log_file_validation"] and trail["include_global_service_events"]
    assert trail["kms_key_id"] == res["aws_kms_key.audit"]["arn"]
    assert trail["s3_bucket_name"] == res["aws_s3_bucket.audit"]["id"]
    selectors = {s["name"]: {f["field"]: f for f in s["field_selector"]} for s in trail["advanced_event_selector"]}
    management = next(s for s in selectors.values() if s["eventCategory"]["equals"] == ["Management"])
    assert set(management) == {"eventCategory"}  # read and write
    data = next(s for s in selectors.values() if s["eventCategory"]["equals"] == ["Data"])
    config = load_config(REPO / "kyeol.toml")
    wanted = {f"arn:aws:s3:::{config.state_bucket}/"}
    for env in TARGET_ENVS:
        e = config.env(env)
        wanted |= {f"arn:aws:s3:::{e.media_bucket}/", f"arn:aws:s3:::{e.prefix}{env}-saleor-private-{e.account_id}/"}
    assert set(data["resources.ARN"]["starts_with"]) == wanted


def test_guardduty_config_and_account_guards_are_on(standin, gate_runs) -> None:
    res = applied(standin, gate_runs, "envs/account")
    features = {v["name"]: v for k, v in res.items() if k.startswith("aws_guardduty_detector_feature.")}
    assert {"EKS_AUDIT_LOGS", "RUNTIME_MONITORING", "RDS_LOGIN_EVENTS"} <= set(features)
    assert all(f["status"] == "ENABLED" for f in features.values())
    assert features["RUNTIME_MONITORING"]["additional_configuration"][0]["name"] == "EKS_ADDON_MANAGEMENT"
    recorder = res["aws_config_configuration_recorder.this[0]"]["recording_group"][0]
    assert recorder["all_supported"] and recorder["include_global_resource_types"]
    assert res["aws_config_configuration_recorder_status.this[0]"]["is_enabled"] is True
    pab = res["aws_s3_account_public_access_block.this"]
    assert all(pab[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert res["aws_ebs_encryption_by_default.this"]["enabled"] is True
    assert res["aws_accessanalyzer_analyzer.account[0]"]["type"] == "ACCOUNT"


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_external_dns_may_change_only_its_envs_origin_and_registry_names(env: str, standin, gate_runs) -> None:
    res = applied(standin, gate_runs, f"envs/{env}")
    policy = next(v["policy"] for k, v in res.items() if k.endswith("aws_iam_role_policy.external_dns[0]"))
    change = [s for s in _statements(policy) if "route53:ChangeResourceRecordSets" in _as_list(s["Action"])]
    assert len(change) == 1, "one statement allows changes, and it is conditioned"
    cond = change[0]["Condition"]["ForAllValues:StringEquals"]
    origins = load_config(REPO / "kyeol.toml").env(env).origin_hosts
    # ExternalDNS v0.21.0 registry names: <type>-<name> for a (plain A), aaaa and cname (alias A).
    wanted = set(origins) | {f"{t}-{o}" for o in origins for t in ("a", "aaaa", "cname")}
    assert set(_as_list(cond["route53:ChangeResourceRecordSetsNormalizedRecordNames"])) == wanted
    assert set(_as_list(cond["route53:ChangeResourceRecordSetsRecordTypes"])) == {"A", "AAAA", "CNAME", "TXT"}
    assert set(_as_list(cond["route53:ChangeResourceRecordSetsActions"])) == {"CREATE", "UPSERT", "DELETE"}


def test_the_argocd_manager_assumes_only_the_configured_envs_deployer_roles(standin, gate_runs) -> None:
    res = applied(standin, gate_runs, "envs/mgmt")
    policy = next(v["policy"] for k, v in res.items() if k.endswith("aws_iam_role_policy.argocd_manager[0]"))
    config = load_config(REPO / "kyeol.toml")
    wanted = {f"arn:aws:iam::{config.env(e).account_id}:role/{config.prefix}{e}-argocd-deployer" for e in TARGET_ENVS}
    resources = [r for s in _statements(policy) for r in _as_list(s["Resource"])]
    assert set(resources) == wanted and not any("*" in r for r in resources)


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_each_env_keeps_its_access_records_two_years(env: str, standin, gate_runs) -> None:
    res = applied(standin, gate_runs, f"envs/{env}")
    pg = next(v for k, v in res.items() if k.endswith("module.rds.aws_db_parameter_group.this"))
    params = {p["name"]: p["value"] for p in pg["parameter"]}
    assert params["log_connections"] == "1" and params["log_disconnections"] == "1"
    valkey = next(v for k, v in res.items() if k.endswith("module.valkey.aws_elasticache_replication_group.this"))
    deliveries = {d["log_type"]: d for d in valkey["log_delivery_configuration"]}
    assert set(deliveries) == {"slow-log", "engine-log"}
    groups = {v["name"]: v for k, v in res.items() if k.startswith("module.environment.module.valkey.aws_cloudwatch_log_group.")}
    for d in deliveries.values():
        assert d["destination_type"] == "cloudwatch-logs" and d["destination"] in groups
        assert groups[d["destination"]]["retention_in_days"] == 731 and groups[d["destination"]]["kms_key_id"]
    bucket = next(v for k, v in res.items() if k.endswith("module.alb_logs.aws_s3_bucket.this"))
    assert bucket["bucket"] == load_config(REPO / "kyeol.toml").env(env).alb_logs_bucket
    lifecycle = next(v for k, v in res.items() if k.endswith("module.alb_logs.aws_s3_bucket_lifecycle_configuration.this"))
    assert lifecycle["rule"][0]["expiration"][0]["days"] == 731
    policy = _statements(next(v for k, v in res.items() if k.endswith("module.alb_logs.aws_s3_bucket_policy.this"))["policy"])
    delivery = next(s for s in policy if s.get("Sid") == "ElbLogDelivery")
    # ap-northeast-1's ELB log delivery account (Elastic Load Balancing user guide, access logs)
    assert delivery["Principal"] == {"AWS": "arn:aws:iam::582318560864:root"}
    assert delivery["Resource"] == f"{bucket['arn']}/alb/AWSLogs/{load_config(REPO / 'kyeol.toml').env(env).account_id}/*"
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)


def test_the_web_acl_blocks_sql_injection_and_keeps_body_size_counted(standin, gate_runs) -> None:
    res = applied(standin, gate_runs, "global/us-east-1")
    acl = next(v for k, v in res.items() if k.startswith("aws_wafv2_web_acl."))
    rules = {r["name"]: r for r in acl["rule"]}
    sqli = rules["AWSManagedRulesSQLiRuleSet"]
    assert sqli["override_action"][0]["none"] and not sqli["override_action"][0].get("count")
    assert sqli["statement"][0]["managed_rule_group_statement"][0]["name"] == "AWSManagedRulesSQLiRuleSet"
    common = rules["AWSManagedRulesCommonRuleSet"]["statement"][0]["managed_rule_group_statement"][0]
    overrides = {o["name"]: o["action_to_use"][0] for o in common["rule_action_override"]}
    assert overrides["SizeRestrictions_BODY"]["count"]
