"""Canned data-source answers: policy documents render to the provider's JSON."""

from __future__ import annotations

import json

from tests.tfprovider import datasources
from tests.tfprovider.synthetic import Context

CTX = Context(region="ap-northeast-1")


def test_policy_document_renders_real_policy_json() -> None:
    cfg = {
        "statement": [
            {
                "sid": "Read",
                "effect": None,
                "actions": ["s3:GetObject"],
                "resources": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                "principals": [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}],
                "condition": [
                    {"test": "StringEquals", "variable": "AWS:SourceArn", "values": ["arn:aws:cloudfront::1:distribution/E1"]}
                ],
            },
            {
                "sid": None,
                "effect": "Deny",
                "actions": ["s3:*"],
                "resources": ["*"],
                "principals": [{"type": "*", "identifiers": ["*"]}],
                "condition": None,
            },
        ]
    }
    doc = json.loads(datasources.policy_document(CTX, cfg)["json"])
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}},
            },
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Principal": "*"},
        ],
    }


def test_tokyo_answers() -> None:
    azs = datasources.canned("aws_availability_zones", CTX, {})
    assert azs["names"] == ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
    assert datasources.canned("aws_region", CTX, {})["name"] == "ap-northeast-1"
    assert (
        datasources.canned("aws_cloudfront_origin_request_policy", CTX, {"name": "Managed-AllViewerExceptHostHeader"})["id"]
        == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    )
    assert datasources.canned("aws_caller_identity", CTX, {})["account_id"] == "123456789012"
