"""The Terraform tree against the hashicorp/aws schema (offline stand-in for `terraform validate`).

Planted errors in small fixture trees must each be caught with the right code, place and
message; a correct fixture with every tolerated construct must pass; the committed schema must
be the pinned provider version and complete; then the real tree must have zero findings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.hcl import top_blocks
from tests.infra.interfaces import Layout
from tests.infra.paths import FIXTURES
from tests.infra.schema_check import OBJECT, REQUIRED, Finding, Schema, check_tree

SCHEMA_FIXTURES = FIXTURES / "schema"


def summary(findings: list[Finding]) -> list[tuple[str, int, str, str, str]]:
    return [(f.file.name, f.line, f.type, f.path, f.code) for f in findings]


def test_correct_fixture_has_no_findings(schema: Schema) -> None:
    assert check_tree(SCHEMA_FIXTURES / "good", schema) == []


@pytest.mark.parametrize(
    ("tree", "expected", "message"),
    [
        (
            "unknown_argument",
            [("main.tf", 3, "aws_s3_bucket", "bucket_name", "unknown-argument")],
            'unknown argument "bucket_name"',
        ),
        (
            "missing_argument",
            [("main.tf", 1, "aws_eks_cluster", "role_arn", "missing-argument")],
            'missing required argument "role_arn"',
        ),
        (
            "block_as_argument",
            [("main.tf", 4, "aws_eks_cluster", "vpc_config", "block-as-argument")],
            '"vpc_config" is a block: write `vpc_config { … }`',
        ),
        (
            "argument_as_block",
            [("main.tf", 5, "aws_db_instance", "tags", "argument-as-block")],
            '"tags" is an argument: write `tags = …`',
        ),
        (
            "wrong_nesting",
            [("main.tf", 9, "aws_eks_cluster", "vpc_config", "too-many-blocks")],
            '"vpc_config" may appear at most once',
        ),
        (
            "unknown_block",
            [("main.tf", 12, "aws_elasticache_replication_group", "auth", "unknown-block")],
            'unknown block "auth"',
        ),
        (
            "missing_block",
            [("main.tf", 9, "aws_eks_cluster", "encryption_config.provider", "missing-block")],
            'missing required block "provider"',
        ),
        (
            "unknown_type",
            [("main.tf", 1, "aws_s3_buckets", "", "unknown-type")],
            'no resource type "aws_s3_buckets" (did you mean "aws_s3_bucket"?)',
        ),
        (
            "provider_argument",
            [("main.tf", 3, "aws", "regoin", "unknown-argument")],
            'unknown argument "regoin" (did you mean "region"?)',
        ),
        # inside a dynamic block's content: the typo is unknown and the real name is then missing
        (
            "dynamic_content",
            [
                ("main.tf", 14, "aws_wafv2_web_acl", "rule.visibility_config.sampled_requests_enabled", "missing-argument"),
                ("main.tf", 17, "aws_wafv2_web_acl", "rule.visibility_config.sample_requests_enabled", "unknown-argument"),
            ],
            'did you mean "sampled_requests_enabled"?',
        ),
    ],
)
def test_planted_error_is_caught(schema: Schema, tree: str, expected: list[tuple], message: str) -> None:
    findings = check_tree(SCHEMA_FIXTURES / tree, schema)
    assert summary(findings) == expected
    assert any(message in str(f) for f in findings), [str(f) for f in findings]
    assert all(str(f).startswith(f"{SCHEMA_FIXTURES / tree / 'main.tf'}:") for f in findings)


def test_finding_names_file_line_type_name_and_path(schema: Schema) -> None:
    (finding,) = check_tree(SCHEMA_FIXTURES / "missing_block", schema)
    assert str(finding) == (
        f"{SCHEMA_FIXTURES / 'missing_block' / 'main.tf'}:9: resource aws_eks_cluster.this: "
        'encryption_config.provider: missing required block "provider" [missing-block]'
    )


def test_provider_alias_names_the_provider_in_findings(schema: Schema) -> None:
    (finding,) = check_tree(SCHEMA_FIXTURES / "provider_argument", schema)
    assert (finding.kind, finding.type, finding.name) == ("provider", "aws", "us_east_1")


def test_data_sources_and_meta_arguments(schema: Schema, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy_document" "x" {\n'
        "  count = 1\n"
        "  statement {\n"
        '    actions   = ["s3:GetObject"]\n'
        '    principal = "*"\n'
        "  }\n"
        "  lifecycle {\n"
        "    postcondition {\n"
        "      condition     = true\n"
        '      error_message = "x"\n'
        "    }\n"
        "  }\n"
        "}\n"
        'data "aws_region" "current" {\n'
        '  provisioner "local-exec" {\n'
        '    command = "true"\n'
        "  }\n"
        "}\n"
    )
    assert summary(check_tree(tmp_path, schema)) == [
        ("main.tf", 5, "aws_iam_policy_document", "statement.principal", "unknown-argument"),
        ("main.tf", 15, "aws_region", "provisioner", "unknown-block"),  # provisioners are for resources only
    ]


# --- the committed schema -------------------------------------------------------------------


def test_schema_metadata_is_complete(schema: Schema) -> None:
    counts = schema.metadata["counts"]
    assert counts["unnamed_properties"] == 0, schema.metadata["unnamed_properties"]
    assert counts["doc_js_disagreements"] == 0, schema.metadata["doc_js_disagreements"]
    assert counts["block_attribute_cross_checks"] > 1000  # the cross-check really compared something
    assert counts["resource"] > 1500 and counts["data"] > 500
    assert schema.metadata["source"]["package"] == "pypi:cdktn-provider-aws"
    assert set(schema.metadata["opaque"]) >= {"aws_wafv2_web_acl.rule.statement"}


def test_schema_matches_the_reference_spot_checks(schema: Schema) -> None:
    """The shapes provider-schema.md verified against a real `terraform providers schema -json`."""
    eks = schema.of("resource", "aws_eks_cluster")
    assert eks["args"]["name"] == REQUIRED and eks["args"]["role_arn"] == REQUIRED
    assert eks["blocks"]["vpc_config"] | {"args": None, "blocks": None} == {
        "nesting": "list",
        "min": 1,
        "max": 1,
        "args": None,
        "blocks": None,
    }
    assert eks["blocks"]["vpc_config"]["args"]["subnet_ids"] == REQUIRED
    assert eks["blocks"]["encryption_config"]["blocks"]["provider"]["args"] == {"key_arn": REQUIRED}
    assert eks["blocks"]["timeouts"]["nesting"] == "single"
    rds = schema.of("resource", "aws_db_instance")
    assert [k for k, v in rds["args"].items() if v & REQUIRED] == ["instance_class"]
    cache = schema.of("resource", "aws_elasticache_replication_group")
    assert {k for k, v in cache["args"].items() if v & REQUIRED} == {"replication_group_id", "description"}
    assert set(cache["blocks"]["log_delivery_configuration"]["args"].values()) == {REQUIRED}
    cf = schema.of("resource", "aws_cloudfront_distribution")
    assert {k for k, b in cf["blocks"].items() if b.get("min")} == {
        "origin",
        "default_cache_behavior",
        "restrictions",
        "viewer_certificate",
    }
    assert cf["blocks"]["origin"]["nesting"] == "set" and cf["args"]["enabled"] == REQUIRED
    # names from the doc anchors, where camel→snake would be wrong
    assert "get_password_data" in schema.of("resource", "aws_instance")["args"]
    assert schema.of("resource", "aws_security_group")["args"]["ingress"] == OBJECT
    assert schema.of("resource", "aws_wafv2_web_acl")["blocks"]["rule"]["blocks"]["statement"]["opaque"] is True


def pinned_aws_version(root: Path) -> str | None:
    for terraform in top_blocks(root, "terraform"):
        for providers in terraform.children("required_providers"):
            aws = providers.value("aws")
            if isinstance(aws, dict):
                return str(aws.get("version", ""))
    return None


def test_schema_version_is_the_version_every_root_pins(schema: Schema, infra_tree: Path) -> None:
    roots = Layout(infra_tree).roots
    assert roots, "no roots found under envs/ and global/"
    pins = {root.relative_to(infra_tree).as_posix(): pinned_aws_version(root) for root in roots}
    exact = re.compile(r"^\s*=?\s*(\d+\.\d+\.\d+)\s*$")
    wrong = {r: v for r, v in pins.items() if not (v and exact.match(v) and exact.match(v).group(1) == schema.version)}
    assert not wrong, (
        f"every root must pin hashicorp/aws exactly to the schema's version {schema.version} "
        f'(version = "= {schema.version}" in versions.tf); found {wrong}'
    )


def test_real_tree_has_no_schema_findings(schema: Schema, infra_tree: Path) -> None:
    findings = check_tree(infra_tree, schema)
    assert not findings, f"{len(findings)} finding(s):\n" + "\n".join(map(str, findings))
