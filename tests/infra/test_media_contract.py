"""Saleor media: the overlays and Terraform agree (tests/infra/media_contract.py).

Each check first meets a planted deviation, in the rendered overlay or in a copy of the real
Terraform tree, written next to the assertion, and must report it; then the real trees must
give no problem for every environment.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from steps.wiring.config import KyeolConfig, load_config
from tests.gitops.support import APP, ROOT, render
from tests.infra import conformance as c
from tests.infra import media_contract as m
from tests.infra.evaluate import instantiate

ACCOUNT = "123456789012"  # kyeol.toml's (checked against the GitOps trees by tests/gitops/test_names.py)
BUCKET = f"jung-dev-saleor-media-{ACCOUNT}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/jung-dev-saleor"


@pytest.fixture(scope="module")
def config() -> KyeolConfig:
    return load_config(ROOT / "kyeol.toml")


@pytest.fixture(scope="module")
def dev_docs() -> list[dict[str, Any]]:
    return render(APP / "apps" / "saleor" / "overlays" / "dev")


@pytest.fixture(scope="module")
def dev_root(infra_tree: Path):
    return instantiate(c.env_root(infra_tree, "dev"))


def real_copy(tmp_path: Path, infra_tree: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    return tree


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


def set_env(docs: list[dict[str, Any]], name: str, value: str | None, deployments=m.MEDIA_WORKLOADS) -> list[dict[str, Any]]:
    """A copy of the rendered overlay with one media variable changed (None: removed) in some Deployments."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] in deployments:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                env = [e for e in container.get("env", []) if e["name"] != name]
                container["env"] = env + ([{"name": name, "value": value}] if value is not None else [])
    return docs


def set_role(docs: list[dict[str, Any]], account: str, arn: str | None) -> list[dict[str, Any]]:
    docs = copy.deepcopy(docs)
    for doc in docs:
        if doc["kind"] == "ServiceAccount" and doc["metadata"]["name"] == account:
            annotations = doc["metadata"].setdefault("annotations", {})
            annotations.pop(m.ROLE_ANNOTATION, None)
            if arn is not None:
                annotations[m.ROLE_ANNOTATION] = arn
    return docs


def problems(root, docs) -> list[str]:
    return m.check_media(root, docs, "dev", ACCOUNT)


# --- The real trees --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", c.TARGET_ENVS)
def test_real_overlays_name_the_bucket_role_prefix_and_host_terraform_makes(infra_tree: Path, env: str, config) -> None:
    root = instantiate(c.env_root(infra_tree, env))
    docs = render(APP / "apps" / "saleor" / "overlays" / env)
    e = config.env(env)
    found = m.check_media(root, docs, env, e.account_id)
    assert not found, "\n".join(found)
    bucket, _ = m.media_bucket(root, e.account_id)
    assert bucket is not None and bucket.name == e.media_bucket  # steps/wiring/config.py derives the same name
    api = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "saleor-api")
    settings = m._env(api["spec"]["template"]["spec"]["containers"][0])
    assert settings["AWS_MEDIA_CUSTOM_DOMAIN"] == e.api_host
    assert settings["AWS_LOCATION"] == "media"


def test_the_symbolic_values_the_checks_compare(dev_root) -> None:
    bucket, found = m.media_bucket(dev_root, ACCOUNT)
    assert found == [] and bucket is not None
    assert (bucket.name, bucket.arn) == (BUCKET, "{saleor-media: aws_s3_bucket.media.arn}")
    assert m.bucket_policy_readers(bucket, "media") == (["{edge: aws_cloudfront_distribution.this.api.arn}"], [])


# --- The overlay's side ----------------------------------------------------------------------------


def test_a_bucket_name_terraform_does_not_make_is_reported(dev_root, dev_docs) -> None:
    docs = set_env(dev_docs, "AWS_MEDIA_BUCKET_NAME", "jung-dev-saleor-media")  # the account suffix forgotten
    (problem,) = problems(dev_root, docs)
    assert problem.startswith(f"dev: AWS_MEDIA_BUCKET_NAME = 'jung-dev-saleor-media', Terraform makes '{BUCKET}' (")


def test_a_custom_domain_whose_distribution_does_not_read_the_bucket_is_reported(dev_root, dev_docs) -> None:
    docs = set_env(dev_docs, "AWS_MEDIA_CUSTOM_DOMAIN", "dev.mgz-g2-u3.shop")
    assert problems(dev_root, docs) == [
        (
            "dev: AWS_MEDIA_CUSTOM_DOMAIN = 'dev.mgz-g2-u3.shop', but the media bucket is read by the distribution(s) of "
            "['dev-api.mgz-g2-u3.shop']: media URLs would not reach it"
        )
    ]


def test_a_prefix_the_bucket_policy_role_and_behaviour_do_not_cover_is_reported(dev_root, dev_docs) -> None:
    found = "\n".join(problems(dev_root, set_env(dev_docs, "AWS_LOCATION", "uploads")))
    assert (
        "lets CloudFront ['s3:GetObject'] on ['{saleor-media: aws_s3_bucket.media.arn}/media/*']; expected s3:GetObject on {saleor-media: aws_s3_bucket.media.arn}/uploads/* only"
        in found
    )
    assert "0 ordered_cache_behavior for /uploads/*, expected 1" in found
    assert (
        "the media role may only use ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'] on {saleor-media: aws_s3_bucket.media.arn}/uploads/*"
        in found
    )


def test_a_region_other_than_the_buckets_is_reported(dev_root, dev_docs) -> None:
    assert problems(dev_root, set_env(dev_docs, "AWS_S3_REGION_NAME", "us-east-1")) == [
        "dev: AWS_S3_REGION_NAME = 'us-east-1', the bucket is in 'ap-northeast-1'"
    ]


def test_missing_or_disagreeing_settings_are_reported(dev_root, dev_docs) -> None:
    (problem,) = problems(dev_root, set_env(dev_docs, "AWS_MEDIA_BUCKET_NAME", None, deployments=("saleor-worker",)))
    assert problem == (
        "Deployment saleor-worker (dev) container worker: no ['AWS_MEDIA_BUCKET_NAME']; Saleor would "
        "store uploads on the pod's (read-only) filesystem"
    )
    (problem,) = problems(dev_root, set_env(dev_docs, "AWS_LOCATION", "other", deployments=("saleor-worker",)))
    assert problem.startswith("dev: api and worker disagree on the media settings: ")


def test_a_role_in_another_account_or_with_another_name_is_reported(dev_root, dev_docs) -> None:
    docs = set_role(dev_docs, "saleor-api", "arn:aws:iam::210987654321:role/jung-dev-saleor")
    assert problems(dev_root, docs) == [
        "dev: arn:aws:iam::210987654321:role/jung-dev-saleor: account 210987654321, but dev's account in kyeol.toml is 123456789012"
    ]
    found = problems(dev_root, set_role(dev_docs, "saleor-worker", f"arn:aws:iam::{ACCOUNT}:role/jung-dev-lbc"))
    assert any(
        "(module.environment.module.irsa.aws_iam_role.lbc): the trust policy does not admit "
        "['system:serviceaccount:saleor:saleor-worker']" in p
        for p in found
    )
    assert any("statement Describe allows ['ec2:DescribeAccountAttributes'" in p for p in found)
    assert found[-1].endswith(
        "(module.environment.module.irsa.aws_iam_role.lbc): the role may not ['s3:GetObject', 's3:PutObject'] media objects"
    )
    assert problems(dev_root, set_role(dev_docs, "saleor-api", f"arn:aws:iam::{ACCOUNT}:role/jung-dev-media")) == [
        f"dev: arn:aws:iam::{ACCOUNT}:role/jung-dev-media: Terraform makes 0 role named jung-dev-media in dev, expected 1"
    ]


def test_a_service_account_without_the_role_is_reported(dev_root, dev_docs) -> None:
    assert problems(dev_root, set_role(dev_docs, "saleor-worker", None)) == [
        "Deployment saleor-worker (dev): service account 'saleor-worker' has no eks.amazonaws.com/role-arn: boto3 finds no credentials"
    ]


# --- Terraform's side: the bucket policy ----------------------------------------------------------

MEDIA_MAIN = "modules/saleor-media/main.tf"


def tree_problems(tree: Path, docs) -> list[str]:
    return problems(instantiate(tree / "envs/dev"), docs)


def test_a_policy_that_lets_objects_be_read_without_tls_is_reported(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(
        tree / MEDIA_MAIN,
        '    resources = [\n      aws_s3_bucket.media.arn,\n      "${aws_s3_bucket.media.arn}/*",\n    ]',
        "    resources = [aws_s3_bucket.media.arn]",
    )  # the Deny no longer covers the objects
    (problem,) = tree_problems(tree, dev_docs)
    assert problem.endswith(
        "(module.environment.module.media.aws_s3_bucket_policy.media): no Deny of s3:* on the bucket "
        "and its objects for every principal when aws:SecureTransport is false (TLS-only)"
    )


def test_a_reader_not_limited_to_one_distribution_is_reported(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / MEDIA_MAIN, '      variable = "AWS:SourceArn"', '      variable = "AWS:SourceAccount"')
    found = tree_problems(tree, dev_docs)
    assert any(
        "statement CloudFrontReadsMedia allows [('Service', ['cloudfront.amazonaws.com'])] ['s3:GetObject']; only "
        "CloudFront, limited by aws:SourceArn to one distribution, may be allowed" in p
        for p in found
    )
    assert any("no statement lets a CloudFront distribution read" in p for p in found)


def test_a_reader_of_the_whole_bucket_is_reported(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(
        tree / MEDIA_MAIN,
        '    resources = ["${aws_s3_bucket.media.arn}/${var.key_prefix}/*"]',
        '    resources = ["${aws_s3_bucket.media.arn}/*"]',
    )
    (problem,) = tree_problems(tree, dev_docs)
    assert "lets CloudFront ['s3:GetObject'] on ['{saleor-media: aws_s3_bucket.media.arn}/*']" in problem


def test_the_other_distribution_reading_the_bucket_is_reported(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(
        tree / "modules/edge/outputs.tf",
        "aws_cloudfront_distribution.this[local.media_distribution].arn",
        'aws_cloudfront_distribution.this["service"].arn',
    )
    found = tree_problems(tree, dev_docs)
    assert any(
        "(module.environment.module.edge.aws_cloudfront_distribution.this) [service]: 0 ordered_cache_behavior "
        "for /media/*, expected 1 (media URLs would reach the ALB)" in p
        for p in found
    )
    assert (
        "dev: AWS_MEDIA_CUSTOM_DOMAIN = 'dev-api.mgz-g2-u3.shop', but the media bucket is read by the distribution(s) "
        "of ['dev.mgz-g2-u3.shop']: media URLs would not reach it"
    ) in found


# --- Terraform's side: the distribution -----------------------------------------------------------

EDGE_MAIN = "modules/edge/main.tf"


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [
        (
            '{ path = "/${var.media_key_prefix}/*", cached = true, origin = local.media_origin_id }',
            '{ path = "/${var.media_key_prefix}-files/*", cached = true, origin = local.media_origin_id }',
            "[api]: 0 ordered_cache_behavior for /media/*, expected 1 (media URLs would reach the ALB)",
        ),
        (
            "      domain_name              = origin.value\n",
            "      domain_name              = var.origin_api_host\n",
            "[api]: /media/* does not go to an origin whose domain_name is {saleor-media: aws_s3_bucket.media.bucket_regional_domain_name}",
        ),
        (
            '  signing_behavior                  = "always"',
            '  signing_behavior                  = "never"',
            "[api]: the media origin has no S3 origin access control signing always with sigv4",
        ),
        (
            "      origin_access_control_id = aws_cloudfront_origin_access_control.media.id\n",
            "",
            "[api]: the media origin has no S3 origin access control signing always with sigv4",
        ),
        (
            'data "aws_cloudfront_cache_policy" "caching_optimized" {\n  name = "Managed-CachingOptimized"',
            'data "aws_cloudfront_cache_policy" "caching_optimized" {\n  name = "Managed-CachingOptimizedForUncompressedObjects"',
            "[api]: /media/* cache policy is 'Managed-CachingOptimizedForUncompressedObjects', expected Managed-CachingOptimized",
        ),
        (
            (
                "      response_headers_policy_id = ordered_cache_behavior.value.origin == local.media_origin_id ? "
                "aws_cloudfront_response_headers_policy.media.id : aws_cloudfront_response_headers_policy.security.id"
            ),
            "      response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id",
            "[api]: /media/* responses get no HSTS and sandboxing Content-Security-Policy (CSP None)",
        ),
        (
            "\"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox\"",
            "\"default-src 'none'\"",
            "[api]: /media/* responses get no HSTS and sandboxing Content-Security-Policy (CSP \"default-src 'none'\")",
        ),
    ],
)
def test_a_distribution_that_does_not_serve_the_bucket_is_reported(
    tmp_path: Path, infra_tree: Path, dev_docs, old, new, shown
) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / EDGE_MAIN, old, new)
    found = tree_problems(tree, dev_docs)
    assert any(p.endswith(shown) or shown in p for p in found), found


# --- Terraform's side: the IRSA role --------------------------------------------------------------

IRSA_MAIN = "modules/irsa/main.tf"


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [
        (
            '    resources = ["${var.saleor_media_bucket_arn}/${var.saleor_media_key_prefix}/*"]',
            '    resources = ["${var.saleor_media_bucket_arn}/*"]',
            (
                "statement MediaObjects allows ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] on "
                "['{saleor-media: aws_s3_bucket.media.arn}/*'] (s3:prefix [])"
            ),
        ),
        (
            '    sid       = "MediaObjects"\n    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]',
            '    sid       = "MediaObjects"\n    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutBucketPolicy"]',
            "statement MediaObjects allows ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:PutBucketPolicy']",
        ),
        (
            '    resources = [var.saleor_media_bucket_arn]\n\n    condition {\n      test     = "StringLike"\n      variable = "s3:prefix"\n      values   = ["${var.saleor_media_key_prefix}/*"]',
            '    resources = [var.saleor_media_bucket_arn]\n\n    condition {\n      test     = "StringLike"\n      variable = "s3:prefix"\n      values   = ["*"]',
            "statement ListMediaPrefix allows ['s3:ListBucket'] on ['{saleor-media: aws_s3_bucket.media.arn}'] (s3:prefix ['*'])",
        ),
        (
            '      "system:serviceaccount:saleor:saleor-worker",\n',
            "",
            "the trust policy does not admit ['system:serviceaccount:saleor:saleor-worker']",
        ),
        (
            '  name   = "media-objects"\n  role   = aws_iam_role.saleor[0].id',
            '  name   = "media-objects"\n  role   = "jung-dev-other"',
            "(module.environment.module.irsa.aws_iam_role.saleor): the role may not ['s3:GetObject', 's3:PutObject'] media objects",
        ),
    ],
)
def test_a_role_beyond_or_short_of_the_media_prefix_is_reported(
    tmp_path: Path, infra_tree: Path, dev_docs, old, new, shown
) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / IRSA_MAIN, old, new)
    found = tree_problems(tree, dev_docs)
    assert len(found) == 1 and shown in found[0], found


def test_without_the_media_module_the_overlay_names_nothing_terraform_makes(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "envs/dev/outputs.tf", 'output "media_bucket" {', 'output "unused_bucket" {')
    assert tree_problems(tree, dev_docs) == [
        (f"{tree / 'envs/dev'}: no output media_bucket (the bucket the overlay's AWS_MEDIA_BUCKET_NAME names)")
    ]


# --- Saleor's private storage (issue 8, defect 3) ---------------------------------------------------
# The rule (tests/infra/media_contract.py, "private storage"): saleor/saleor@3.23.28
# saleor/settings.py keeps PRIVATE_FILE_STORAGE on the pod's disk unless
# AWS_MEDIA_PRIVATE_BUCKET_NAME names a bucket (saleor/core/storages.py S3MediaPrivateStorage:
# no custom domain, AWS_LOCATION shared); EventPayload.payload_file lives there.

PRIVATE_MAIN = "modules/saleor-private-media/main.tf"
PRIVATE = f"jung-dev-saleor-private-{ACCOUNT}"


def private_problems(root, docs) -> list[str]:
    return m.check_private_media(root, docs, "dev", ACCOUNT)


@pytest.mark.parametrize("env", c.TARGET_ENVS)
def test_real_overlays_keep_private_files_in_the_private_bucket_terraform_makes(infra_tree: Path, env: str, config) -> None:
    root = instantiate(c.env_root(infra_tree, env))
    docs = render(APP / "apps" / "saleor" / "overlays" / env)
    e = config.env(env)
    found = m.check_private_media(root, docs, env, e.account_id)
    assert not found, "\n".join(found)
    bucket, _ = m.bucket_behind(root, "private_media_bucket", m.PRIVATE_ENV, e.account_id)
    assert bucket is not None and bucket.name == e.private_media_bucket  # steps/wiring/config.py derives the same name


def test_a_missing_or_wrong_private_bucket_setting_is_reported(dev_root, dev_docs) -> None:
    (problem,) = private_problems(dev_root, set_env(dev_docs, m.PRIVATE_ENV, None, deployments=("saleor-worker",)))
    assert problem == (
        "Deployment saleor-worker (dev) container worker: no AWS_MEDIA_PRIVATE_BUCKET_NAME; Saleor 3.23 keeps "
        "private files (webhook payloads) on the pod's read-only, unshared disk"
    )
    found = private_problems(dev_root, set_env(dev_docs, m.PRIVATE_ENV, BUCKET))
    assert [p.split(" AWS_")[0] for p in found] == ["dev: saleor-api/api", "dev: saleor-worker/worker"]
    assert all(f"AWS_MEDIA_PRIVATE_BUCKET_NAME = '{BUCKET}', Terraform makes '{PRIVATE}'" in p for p in found)


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [
        (
            '      sse_algorithm     = "aws:kms"\n      kms_master_key_id = var.kms_key_arn\n',
            '      sse_algorithm = "AES256"\n',
            "is not encrypted with a KMS key by default (SSE-KMS)",
        ),
        ('    status = "Enabled"\n  }\n}\n\n# SSE-KMS', '    status = "Suspended"\n  }\n}\n\n# SSE-KMS', "is not versioned"),
        (
            "  restrict_public_buckets = true\n",
            "  restrict_public_buckets = false\n",
            "has no public access block with all four settings true",
        ),
        (
            '      variable = "aws:SecureTransport"\n',
            '      variable = "aws:SourceIp"\n',
            "no Deny of s3:* on the bucket and its objects for every principal when aws:SecureTransport is false",
        ),
        (
            'resource "aws_s3_bucket_logging" "private" {\n  bucket        = aws_s3_bucket.private.id\n',
            'resource "aws_s3_bucket_logging" "private" {\n  bucket        = "other"\n',
            "has no server access logging",
        ),
    ],
)
def test_a_private_bucket_that_is_not_private_encrypted_versioned_and_logged_is_reported(
    tmp_path: Path, infra_tree: Path, dev_docs, old, new, shown
) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / PRIVATE_MAIN, old, new)
    found = private_problems(instantiate(tree / "envs/dev"), dev_docs)
    assert len(found) == 1 and shown in found[0], found


def test_a_private_bucket_behind_cloudfront_is_reported(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(
        tree / "modules/saleor-environment/main.tf",
        "  media_bucket_regional_domain_name = module.media.bucket_regional_domain_name",
        "  media_bucket_regional_domain_name = module.private_media.bucket_regional_domain_name",
    )
    edit(
        tree / "modules/saleor-private-media/outputs.tf",
        'output "key_prefix" {',
        'output "bucket_regional_domain_name" {\n  value = aws_s3_bucket.private.bucket_regional_domain_name\n}\n\noutput "key_prefix" {',
    )
    found = private_problems(instantiate(tree / "envs/dev"), dev_docs)
    assert any(f"an origin is the private bucket {PRIVATE}; private files must not be behind CloudFront" in p for p in found), (
        found
    )


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [
        (
            '    resources = ["${var.saleor_private_bucket_arn}/${var.saleor_media_key_prefix}/*"]',
            '    resources = ["${var.saleor_private_bucket_arn}/*"]',
            (
                "statement PrivateObjects allows ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] on "
                "['{saleor-private-media: aws_s3_bucket.private.arn}/*']"
            ),
        ),
        (
            '      variable = "kms:ViaService"\n      values   = ["s3.${local.region}.amazonaws.com"]',
            '      variable = "kms:CallerAccount"\n      values   = ["s3.${local.region}.amazonaws.com"]',
            "statement PrivateObjectsKey allows",
        ),
        (
            '    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]',
            '    actions   = ["kms:Decrypt"]',
            "may not kms:Decrypt and kms:GenerateDataKey with {kms: aws_kms_key.this.arn} through S3",
        ),
        (
            '      "system:serviceaccount:saleor:saleor-worker",\n    ]\n    argocd_manager',
            '      "system:serviceaccount:saleor:saleor-worker",\n      "system:serviceaccount:saleor:saleor-storefront",\n    ]\n    argocd_manager',
            "the trust policy also admits ['system:serviceaccount:saleor:saleor-storefront']",
        ),
    ],
)
def test_access_to_the_private_bucket_beyond_the_saleor_role_is_reported(
    tmp_path: Path, infra_tree: Path, dev_docs, old, new, shown
) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / IRSA_MAIN, old, new)
    found = private_problems(instantiate(tree / "envs/dev"), dev_docs)
    assert any(shown in p for p in found), found


def test_another_role_on_the_private_bucket_is_reported(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(
        tree / IRSA_MAIN,
        '  name   = "private-objects"\n  role   = aws_iam_role.saleor[0].id',
        '  name   = "private-objects"\n  role   = aws_iam_role.lbc[0].id',
    )
    found = private_problems(instantiate(tree / "envs/dev"), dev_docs)
    assert any(
        "gives role 'jung-dev-lbc'" in p and "only jung-dev-saleor (saleor-api, saleor-worker) may reach it" in p for p in found
    ), found
    assert any("jung-dev-saleor: may not ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'] private objects" in p for p in found)


def test_without_the_private_bucket_the_overlay_names_nothing_terraform_makes(tmp_path: Path, infra_tree: Path, dev_docs) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "envs/dev/outputs.tf", 'output "private_media_bucket" {', 'output "unused_private_bucket" {')
    assert private_problems(instantiate(tree / "envs/dev"), dev_docs) == [
        f"{tree / 'envs/dev'}: no output private_media_bucket (the bucket the overlay's AWS_MEDIA_PRIVATE_BUCKET_NAME names)"
    ]
