"""The committed typed schema says what hashicorp/aws 6.69.1 says, for hand-picked types
(the cdktn 25.8.1 assembly and the provider docs at registry.terraform.io/providers/hashicorp/aws/6.69.1),
and the stand-in serves exactly the types the tree uses."""

from __future__ import annotations

import json

import pytest

from tests.tfprovider import schema as s
from tests.tfprovider import tree
from tests.tfprovider.conftest import INFRA

R, O, C, SENS, WO = s.REQUIRED, s.OPTIONAL, s.COMPUTED, s.SENSITIVE, s.WRITE_ONLY


@pytest.fixture(scope="module")
def aws() -> dict:
    return s.load_full("aws")


def test_eks_cluster_identity_issuer_is_a_computed_nested_list(aws) -> None:
    eks = aws["resource"]["aws_eks_cluster"]
    assert eks["a"]["identity"] == [["list", ["object", {"oidc": ["list", ["object", {"issuer": "string"}]]}]], C]
    assert eks["a"]["arn"] == ["string", C] and eks["a"]["endpoint"] == ["string", C]
    assert eks["a"]["certificate_authority"] == [["list", ["object", {"data": "string"}]], C]
    vpc = eks["b"]["vpc_config"]
    assert (vpc["n"], vpc["min"], vpc["max"]) == ("list", 1, 1)
    assert vpc["blk"]["a"]["subnet_ids"] == [["set", "string"], R]
    assert vpc["blk"]["a"]["cluster_security_group_id"] == ["string", C]  # computed-only inside a block
    assert vpc["blk"]["a"]["public_access_cidrs"] == [["set", "string"], O | C]


def test_db_instance_secret_and_write_only_password(aws) -> None:
    db = aws["resource"]["aws_db_instance"]
    assert db["a"]["master_user_secret"] == [
        ["list", ["object", {"kms_key_id": "string", "secret_arn": "string", "secret_status": "string"}]],
        C,
    ]
    assert db["a"]["password_wo"] == ["string", O | SENS | WO]
    assert db["a"]["password"][1] & SENS
    assert db["a"]["instance_class"] == ["string", R]


def test_cloudfront_origin_is_a_set_block(aws) -> None:
    cf = aws["resource"]["aws_cloudfront_distribution"]
    assert (cf["b"]["origin"]["n"], cf["b"]["origin"]["min"]) == ("set", 1)
    assert cf["b"]["ordered_cache_behavior"]["n"] == "list"
    assert cf["a"]["domain_name"] == ["string", C]


def test_more_hand_picked_types(aws) -> None:
    r, d, e = aws["resource"], aws["data"], aws["ephemeral"]
    assert r["aws_security_group"]["a"]["ingress"][0][0] == "set"
    assert r["aws_subnet"]["a"]["id"] == ["string", O | C]
    assert r["aws_s3_bucket"]["a"]["bucket_regional_domain_name"] == ["string", C]
    assert r["aws_elasticache_replication_group"]["a"]["primary_endpoint_address"] == ["string", C]
    assert r["aws_secretsmanager_secret_version"]["a"]["secret_string_wo"] == ["string", O | SENS | WO]
    assert r["aws_acm_certificate"]["a"]["domain_validation_options"] == [
        [
            "set",
            [
                "object",
                {
                    "domain_name": "string",
                    "resource_record_name": "string",
                    "resource_record_type": "string",
                    "resource_record_value": "string",
                },
            ],
        ],
        C,
    ]
    ng = r["aws_eks_node_group"]["b"]["scaling_config"]
    assert (ng["n"], ng["min"], ng["max"]) == ("list", 1, 1)
    assert r["aws_vpc"]["a"]["tags_all"] == [["map", "string"], O | C]
    doc = d["aws_iam_policy_document"]["b"]["statement"]
    assert (doc["n"], doc["blk"]["b"]["principals"]["n"], doc["blk"]["b"]["condition"]["n"]) == ("list", "set", "set")
    assert d["aws_availability_zones"]["a"]["names"] == [["list", "string"], C]
    assert e["aws_secretsmanager_random_password"]["a"]["random_password"] == ["string", C | SENS]
    assert aws["provider"]["b"]["default_tags"]["blk"]["a"]["tags"] == [["map", "string"], O]


def test_waf_statement_is_the_hand_written_subset(aws) -> None:
    statement = aws["resource"]["aws_wafv2_web_acl"]["b"]["rule"]["blk"]["b"]["statement"]
    assert set(statement["blk"]["b"]) == {"managed_rule_group_statement", "rate_based_statement"}


def test_tls_ephemeral_private_key_from_its_docs() -> None:
    key = s.load_full("tls")["ephemeral"]["tls_private_key"]["a"]
    assert key["algorithm"] == ["string", R]
    assert key["private_key_pem"] == ["string", C | SENS]


def test_served_subset_is_exactly_what_the_tree_uses(standin) -> None:
    for provider in s.PROVIDERS:
        used = tree.used_types(INFRA, provider)
        served = json.loads((standin.home / f"{provider}.schema.json").read_text())
        assert {k: set(served[k]) for k in s.KINDS} == used, provider
    assert "aws_eks_cluster" in standin.served["aws"]["resource"]
    assert standin.served["tls"]["ephemeral"] == ["tls_private_key"]


def test_a_used_type_the_schema_lacks_is_an_error_not_a_silent_gap() -> None:
    with pytest.raises(KeyError, match="aws_not_a_type"):
        s.subset(s.load_full("aws"), {"resource": {"aws_not_a_type"}})
