"""The kyeol CI roles of modules/github-oidc, as envs/mgmt calls them: the pull-request plan
role can never write state or take a lock, and each deploy role trusts only its GitHub
environment and stays out of the other environments.

No provider runs here, so the policy documents are evaluated from the HCL (tests/infra/evaluate.py,
with the three data sources the module reads given their values) and judged by a small model of
IAM's evaluation logic (docs.aws.amazon.com IAM User Guide, "Policy evaluation logic": an explicit
Deny wins, then an Allow, else the implicit deny; "IAM JSON policy elements: Resource": `*` and
`?` match within the ARN, case-sensitively; actions case-insensitively; a condition whose key is
absent from the request does not match unless …IfExists). Every check is also run with an
"allow everything" policy attached beside the role's own, so it is the role's explicit Deny that
refuses, not a missing Allow.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.evaluate import Instance, Unknown, instantiate
from tests.infra.paths import INFRA as REAL_TREE

ACCOUNT, REGION = "123456789012", "ap-northeast-1"
BUCKET = f"arn:aws:s3:::jung-kyeol-tfstate-{ACCOUNT}"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/jung-kyeol-tflock"
DATA = {
    "data.aws_caller_identity.current": {"account_id": ACCOUNT},
    "data.aws_partition.current": {"partition": "aws"},
    "data.aws_region.current": {"region": REGION},
}
ENVS = ("dev", "stage", "prod")


class WithData(Instance):
    """The module instance with the values of the data sources it reads."""

    def _resolve(self, path: list[str | int], text: str) -> Any:
        for n in range(len(path), 1, -1):
            key = ".".join(map(str, path[:n]))
            if key in DATA:
                value: Any = DATA[key]
                for part in path[n:]:
                    value = value[part]
                return value
        return super()._resolve(path, text)


def github_oidc(**tfvars: Any) -> WithData:
    root = instantiate(REAL_TREE / "envs" / "mgmt", {**_tfvars(), **tfvars} if tfvars else None)
    call = root.children["github_oidc"]
    return WithData(address=call.address, directory=call.directory, inputs=call.inputs, parent=root, call=call.call)


def _tfvars() -> dict[str, Any]:
    from tests.infra.hcl import load_tfvars

    return load_tfvars(REAL_TREE / "envs" / "mgmt" / "terraform.tfvars")


# -- a model of IAM's evaluation ------------------------------------------------------------


@dataclass
class Statement:
    effect: str
    actions: list[str]
    not_actions: list[str]
    resources: list[str]
    not_resources: list[str]
    conditions: list[tuple[str, str, list[str]]]

    def _action(self, action: str) -> bool:
        match = lambda pats: any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in pats)  # noqa: E731
        return match(self.actions) if self.actions else not match(self.not_actions)

    def _resource(self, resource: str) -> bool:
        match = lambda pats: any(_arn_match(p, resource) for p in pats)  # noqa: E731
        return match(self.resources) if self.resources else not match(self.not_resources)

    def _conditions(self, context: dict[str, Any]) -> bool:
        for test, key, values in self.conditions:
            present = context.get(key)
            if present is None:
                return False
            present = present if isinstance(present, list) else [present]
            if test in ("StringEquals", "ForAnyValue:StringEquals"):
                ok = any(p in values for p in present)
            elif test in ("StringLike", "ForAnyValue:StringLike"):
                ok = any(fnmatch.fnmatchcase(p, v) for p in present for v in values)
            else:
                raise AssertionError(f"the model does not know condition operator {test}")
            if not ok:
                return False
        return True

    def applies(self, action: str, resource: str, context: dict[str, Any]) -> bool:
        return self._action(action) and self._resource(resource) and self._conditions(context)


def _arn_match(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def decide(statements: list[Statement], action: str, resource: str, context: dict[str, Any] | None = None) -> str:
    """'deny' (explicit), 'allow', or 'implicit' (no statement allows it)."""
    context = context or {}
    hits = [s for s in statements if s.applies(action, resource, context)]
    if any(s.effect == "Deny" for s in hits):
        return "deny"
    return "allow" if any(s.effect == "Allow" for s in hits) else "implicit"


ALLOW_ALL = Statement("Allow", ["*"], [], ["*"], [], [])
# AWS's ReadOnlyAccess (arn:aws:iam::aws:policy/ReadOnlyAccess), as far as these checks need it:
# the read actions of the services involved on every resource — and, as in AWS's policy, no
# secretsmanager:GetSecretValue and no kms:Decrypt.
READ_ONLY_ACCESS = Statement(
    "Allow",
    [
        "s3:Get*",
        "s3:List*",
        "dynamodb:BatchGet*",
        "dynamodb:Describe*",
        "dynamodb:Get*",
        "dynamodb:List*",
        "dynamodb:Query",
        "dynamodb:Scan",
        "ec2:Describe*",
        "eks:Describe*",
        "eks:List*",
        "iam:Get*",
        "iam:List*",
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "secretsmanager:Describe*",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:List*",
        "rds:Describe*",
        "elasticache:Describe*",
    ],
    [],
    ["*"],
    [],
    [],
)


def _strings(value: Any, what: str) -> list[str]:
    value = [value] if isinstance(value, str) else list(value or [])
    for v in value:
        assert isinstance(v, str), f"{what}: {v!r} is not known offline"
    return value


def document(module: Instance, name: str, key: str | None = None) -> list[Statement]:
    """The statements of data.aws_iam_policy_document.<name> (instance ``key`` of a for_each)."""
    block = next(b for b in module.top("data") if b.labels == ("aws_iam_policy_document", name))
    scopes = module.scopes(block)
    assert not isinstance(scopes, Unknown), scopes
    scope = next(s for s in scopes if key is None or s["each"]["key"] == key)
    out = []
    for st in block.children("statement"):
        get = lambda n: module.attr(st, n, None, scope)  # noqa: E731
        conditions = [
            (
                module.attr(c, "test", None, scope),
                module.attr(c, "variable", None, scope),
                _strings(module.attr(c, "values", None, scope), f"{name} condition"),
            )
            for c in st.children("condition")
        ]
        out.append(
            Statement(
                get("effect") or "Allow",
                _strings(get("actions"), name),
                _strings(get("not_actions"), name),
                _strings(get("resources"), name),
                _strings(get("not_resources"), name),
                conditions,
            )
        )
    return out


def trust_admits(statements: list[Statement], sub: str) -> bool:
    context = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": sub}
    return decide(statements, "sts:AssumeRoleWithWebIdentity", "*", context) == "allow"


# -- the plan role -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module() -> WithData:
    return github_oidc()


@pytest.fixture(scope="module")
def plan(module: WithData) -> list[Statement]:
    return document(module, "plan")


STATE = f"{BUCKET}/envs/dev/terraform.tfstate"


@pytest.mark.parametrize("extra", [READ_ONLY_ACCESS, ALLOW_ALL], ids=["ReadOnlyAccess", "even-with-allow-all"])
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:PutObject", STATE),
        ("s3:PutObject", f"{BUCKET}/envs/dev/terraform.tfstate.tflock"),  # Terraform's S3-native lock
        ("s3:PutObject", f"{BUCKET}/kyeol/state.json.lock"),  # kyeol's own lock
        ("s3:DeleteObject", STATE),
        ("s3:DeleteObjectVersion", STATE),
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:DeleteItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
    ],
)
def test_the_plan_role_can_never_write_state_or_take_a_lock(
    plan: list[Statement], extra: Statement, action: str, resource: str
) -> None:
    assert decide([*plan, extra], action, resource) == "deny"


def test_the_plan_role_reads_the_state_and_its_digests_but_no_other_data(plan: list[Statement]) -> None:
    policy = [*plan, READ_ONLY_ACCESS]
    assert decide(policy, "s3:GetObject", STATE) == "allow"
    assert decide(policy, "dynamodb:GetItem", TABLE) == "allow"  # the S3 backend's state digest
    assert decide(policy, "s3:GetObject", f"arn:aws:s3:::jung-dev-saleor-media-{ACCOUNT}/media/x.png") == "deny"
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:jung-dev"
    assert (
        decide(policy, "secretsmanager:GetSecretValue", f"{secret}-origin-verify-AbCdEf") == "allow"
    )  # the edge module's data source
    assert decide(policy, "secretsmanager:GetSecretValue", f"{secret}-saleor-app-AbCdEf") == "deny"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    assert decide(plan, "kms:Decrypt", key, {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}) == "allow"
    assert decide(plan, "kms:Decrypt", key) == "implicit"  # not directly, only through S3 / Secrets Manager


def test_the_plan_role_trusts_pull_requests_and_the_drift_job_only(module: WithData) -> None:
    trust = document(module, "plan_assume")
    assert trust_admits(trust, "repo:kyeol/kyeol:pull_request")
    assert trust_admits(trust, "repo:kyeol/kyeol:environment:drift")  # the nightly drift job (kyeol.yml)
    for sub in (
        "repo:kyeol/kyeol:ref:refs/heads/main",
        "repo:kyeol/kyeol:environment:dev",
        "repo:other/kyeol:pull_request",
        "repo:kyeol/kyeol:pull_request:x",
        "repo:kyeol/kyeol:environment:prod",
    ):
        assert not trust_admits(trust, sub), sub


# -- the deploy roles ------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_each_deploy_role_trusts_only_its_environment(module: WithData, env: str) -> None:
    trust = document(module, "deploy_assume", env)
    subjects = [f"repo:kyeol/kyeol:environment:{e}" for e in ENVS] + [
        "repo:kyeol/kyeol:pull_request",
        "repo:kyeol/kyeol:ref:refs/heads/main",
        f"repo:other/kyeol:environment:{env}",
    ]
    assert [s for s in subjects if trust_admits(trust, s)] == [f"repo:kyeol/kyeol:environment:{env}"]


def test_the_immutable_subject_form_is_trusted_besides_the_legacy_one() -> None:
    module = github_oidc(github_owner_id="1234", github_repository_id="5678")
    assert trust_admits(document(module, "plan_assume"), "repo:kyeol@1234/kyeol@5678:pull_request")
    dev = document(module, "deploy_assume", "dev")
    assert trust_admits(dev, "repo:kyeol@1234/kyeol@5678:environment:dev")
    assert trust_admits(dev, "repo:kyeol/kyeol:environment:dev")
    assert not trust_admits(dev, "repo:kyeol@1234/kyeol@5678:environment:prod")
    assert trust_admits(document(module, "assume"), "repo:kyeol@1234/kyeol@5678:ref:refs/heads/main")


@pytest.mark.parametrize("env", ENVS)
def test_a_deploy_role_writes_its_state_and_the_shared_roots_and_nothing_of_another_env(module: WithData, env: str) -> None:
    policy = document(module, "deploy", env)
    for key in (
        f"envs/{env}/terraform.tfstate",
        f"envs/{env}/terraform.tfstate.tflock",
        "envs/mgmt/terraform.tfstate",
        "global/us-east-1/terraform.tfstate",
        "kyeol/state.json",
        "kyeol/state.json.lock",
    ):
        assert decide(policy, "s3:PutObject", f"{BUCKET}/{key}") == "allow", key
    assert decide(policy, "dynamodb:PutItem", TABLE) == "allow"
    for other in set(ENVS) - {env}:
        for action, resource, context in (
            ("s3:PutObject", f"{BUCKET}/envs/{other}/terraform.tfstate", {}),
            ("s3:GetObject", f"{BUCKET}/envs/{other}/terraform.tfstate", {}),
            ("eks:DeleteCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/jung-{other}-eks", {}),
            ("rds:DeleteDBInstance", f"arn:aws:rds:{REGION}:{ACCOUNT}:db:jung-{other}-pg", {}),
            (
                "secretsmanager:GetSecretValue",
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:jung-{other}-saleor-app-Ab12",
                {},
            ),
            ("s3:DeleteBucket", f"arn:aws:s3:::jung-{other}-saleor-media-{ACCOUNT}", {}),
            ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/jung-{other}-lbc", {}),
            ("ec2:TerminateInstances", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123", {"aws:ResourceTag/environment": other}),
            ("ec2:CreateVpc", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*", {"aws:RequestTag/environment": other}),
        ):
            assert decide([*policy, ALLOW_ALL], action, resource, context) == "deny", (other, action, resource)
    # What its own deploy does is allowed.
    assert decide(policy, "eks:CreateCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/jung-{env}-eks") == "allow"
    assert (
        decide(policy, "ec2:CreateVpc", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*", {"aws:RequestTag/environment": env}) == "allow"
    )
    assert decide(policy, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/jung-{env}-lbc") == "allow"
    assert decide(policy, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/someone-else") == "implicit"


@pytest.mark.parametrize("env", ENVS)
def test_a_deploy_role_cannot_widen_the_ci_identity_or_mint_keys(module: WithData, env: str) -> None:
    own = document(module, "deploy", env)
    policy = [*own, ALLOW_ALL]
    for role in ("jung-mgmt-github-plan", f"jung-{env}-github-deploy", "jung-mgmt-github-ecr-push"):
        assert decide(policy, "iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{role}") == "deny", role
        # … while a plan of envs/mgmt still refreshes them.
        assert decide(own, "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/{role}") == "allow", role
        assert decide(own, "iam:ListRolePolicies", f"arn:aws:iam::{ACCOUNT}:role/{role}") == "allow", role
    assert decide(policy, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/jung-prod-github-deploy") == "deny"
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert decide(policy, "iam:UpdateOpenIDConnectProviderThumbprint", provider) == "deny"
    assert decide(policy, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/anyone") == "deny"


def test_the_model_tells_allow_from_deny() -> None:
    """The evaluator itself: a Deny beats an Allow; NotResource; a missing condition key."""
    deny_put = Statement("Deny", ["s3:Put*"], [], ["arn:aws:s3:::b/*"], [], [])
    assert decide([ALLOW_ALL], "s3:PutObject", "arn:aws:s3:::b/k") == "allow"
    assert decide([ALLOW_ALL, deny_put], "s3:putobject", "arn:aws:s3:::b/k") == "deny"
    assert decide([ALLOW_ALL, deny_put], "s3:PutObject", "arn:aws:s3:::c/k") == "allow"
    not_b = Statement("Deny", ["s3:GetObject"], [], [], ["arn:aws:s3:::b/*"], [])
    assert decide([ALLOW_ALL, not_b], "s3:GetObject", "arn:aws:s3:::c/k") == "deny"
    tagged = Statement("Deny", ["*"], [], ["*"], [], [("StringEquals", "aws:ResourceTag/environment", ["prod"])])
    assert decide([ALLOW_ALL, tagged], "ec2:StopInstances", "x") == "allow"
    assert decide([ALLOW_ALL, tagged], "ec2:StopInstances", "x", {"aws:ResourceTag/environment": "prod"}) == "deny"
