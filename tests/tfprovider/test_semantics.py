"""Generic plan/apply semantics of the stand-in, on small typed blocks (no terraform)."""

from __future__ import annotations

from tests.tfprovider import semantics, values
from tests.tfprovider.schema import COMPUTED, OPTIONAL, REQUIRED, SENSITIVE, WRITE_ONLY
from tests.tfprovider.synthetic import Context

BLOCK = {
    "a": {
        "name": ["string", REQUIRED],
        "arn": ["string", COMPUTED],
        "id": ["string", OPTIONAL | COMPUTED],
        "tags": [["map", "string"], OPTIONAL],
        "tags_all": [["map", "string"], OPTIONAL | COMPUTED],
        "password_wo": ["string", OPTIONAL | SENSITIVE | WRITE_ONLY],
        "identity": [["list", ["object", {"issuer": "string"}]], COMPUTED],
    },
    "b": {"vpc": {"n": "list", "max": 1, "blk": {"a": {"subnet": ["string", REQUIRED], "vpc_id": ["string", COMPUTED]}}}},
}
CTX = Context(region="ap-northeast-1", account_id="123456789012", default_tags={"project": "kyeol"})


def proposed(**extra):
    base = {
        "name": "jung-dev",
        "arn": None,
        "id": None,
        "tags": {"env": "dev"},
        "tags_all": None,
        "password_wo": "s3cret",
        "identity": None,
        "vpc": [{"subnet": "subnet-1", "vpc_id": None}],
    }
    return {**base, **extra}


def test_create_makes_computed_null_unknown_recursively_and_write_only_null() -> None:
    config = proposed()
    planned = semantics.plan(CTX, BLOCK, None, proposed(), config)
    assert isinstance(planned["arn"], values.Unknown) and isinstance(planned["id"], values.Unknown)
    assert isinstance(planned["vpc"][0]["vpc_id"], values.Unknown)
    assert planned["password_wo"] is None
    assert planned["tags_all"] == {"project": "kyeol", "env": "dev"}  # default_tags merged under tags
    assert planned["name"] == "jung-dev"


def test_update_keeps_prior_computed_values() -> None:
    prior = {**proposed(arn="arn:aws:x", id="i-1", identity=[{"issuer": "https://x"}]), "password_wo": None}
    planned = semantics.plan(CTX, BLOCK, prior, {**prior, "password_wo": "s3cret"}, proposed())
    assert planned["arn"] == "arn:aws:x" and planned["identity"] == [{"issuer": "https://x"}]
    assert planned["password_wo"] is None


def test_apply_fills_unknowns_with_typed_values_that_look_like_aws() -> None:
    planned = semantics.plan(CTX, BLOCK, None, proposed(), proposed())
    state = semantics.apply(CTX, BLOCK, planned, "aws_eks_cluster")
    assert values.is_known(state)
    assert state["arn"] == "arn:aws:eks:ap-northeast-1:123456789012:cluster/jung-dev"
    assert state["identity"][0]["issuer"].startswith("https://oidc.eks.ap-northeast-1.amazonaws.com/id/")
    assert state["vpc"][0]["vpc_id"].startswith("vpc-0")


def test_config_values_and_refined_unknowns_pass_through_unchanged() -> None:
    refined = values.decode(values.encode(values.Unknown(12, b"\x81\x01\xc2")))
    planned = semantics.plan(CTX, BLOCK, None, proposed(name=refined), proposed(name=refined))
    assert values.encode(planned["name"]) == values.encode(refined)


# A block with a dynamic attribute inside (aws_accessanalyzer_analyzer's `configuration`:
# exclusion.resource_tags is "dynamic") reaches the provider as cty's dynamic wrapper
# [type JSON, value] (cty@v1.16 msgpack/marshal.go, marshalDynamic), not as a list of objects.
DYNAMIC_BLOCK = {
    "a": {"name": ["string", REQUIRED], "arn": ["string", COMPUTED]},
    "b": {"configuration": {"n": "list", "max": 1, "blk": {"a": {"resource_tags": ["dynamic", OPTIONAL]}}}},
}


def test_a_block_sent_in_cty_dynamic_wrapper_passes_through_plan_and_apply() -> None:
    wrapped = [b'["tuple",[]]', []]
    proposed_state = {"name": "jung-kyeol-account", "arn": None, "configuration": wrapped}
    planned = semantics.plan(CTX, DYNAMIC_BLOCK, None, proposed_state, {"name": "jung-kyeol-account", "configuration": wrapped})
    assert planned["configuration"] == wrapped and isinstance(planned["arn"], values.Unknown)
    state = semantics.apply(CTX, DYNAMIC_BLOCK, planned, "aws_accessanalyzer_analyzer")
    assert state["configuration"] == wrapped and isinstance(state["arn"], str)
