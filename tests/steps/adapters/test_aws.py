"""The AWS look-ups against moto (a real AWS API server on loopback), and their error mapping."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from runbook.errors import PermanentError, TransientError, Unavailable
from steps.adapters.aws import AwsSession, translate
from tests.fixtures.infra import seed as seeding

BUCKET = "jung-kyeol-tfstate-123456789012"
TABLE = "jung-kyeol-tflock"
REGION = "ap-northeast-1"


@pytest.fixture
def aws(moto_endpoint: str) -> AwsSession:
    return AwsSession(REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def seed(moto_endpoint: str) -> seeding.Seed:
    return seeding.Seed(moto_endpoint, REGION)


def test_caller_identity_and_endpoint_from_the_environment(moto_endpoint: str) -> None:
    session = AwsSession(REGION)  # AWS_ENDPOINT_URL points at moto (the moto_endpoint fixture)
    assert session.endpoint_url == moto_endpoint
    identity = session.caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"].startswith("arn:aws:")


def test_state_backend_made_by_bootstrap_has_no_problem(aws: AwsSession, seed: seeding.Seed) -> None:
    assert aws.check_state_backend(BUCKET, TABLE) == [
        f"state bucket {BUCKET} does not exist",
        f"lock table {TABLE} does not exist",
    ]
    seeding.seed_bootstrap(seed, {"state_bucket": BUCKET, "lock_table": TABLE})
    assert aws.check_state_backend(BUCKET, TABLE) == []


def test_state_backend_problems_are_each_named(aws: AwsSession, seed: seeding.Seed) -> None:
    s3, dynamodb = seed.client("s3"), seed.client("dynamodb")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    problems = aws.check_state_backend(BUCKET, TABLE)
    assert problems == [
        f"state bucket {BUCKET} is not versioned (status never enabled)",
        f"state bucket {BUCKET} is not encrypted with SSE-KMS (found: AES256)",
        f"state bucket {BUCKET} does not block all public access (off: BlockPublicPolicy)",
        f"lock table {TABLE} has no string hash key LockID (Terraform needs it)",
    ]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=BUCKET)
    problems = aws.check_state_backend(BUCKET, TABLE)
    assert f"state bucket {BUCKET} is not versioned (status Suspended)" in problems
    assert any("does not block all public access (off: BlockPublicAcls, IgnorePublicAcls" in p for p in problems)


def test_eks_rds_and_valkey_status(aws: AwsSession, seed: seeding.Seed) -> None:
    assert aws.eks_cluster("jung-dev-eks") is None
    assert aws.rds_instance("jung-dev-saleor") is None
    assert aws.replication_group("jung-dev-valkey") is None
    eks = seeding.seed_eks(
        seed,
        {
            "cluster_name": "jung-dev-eks",
            "prefix": "jung-",
            "env": "dev",
            "cidr": "10.10.0.0/16",
            "node_type": "t3.medium",
            "nodes_min": "2",
            "nodes_max": "2",
        },
    )
    data = seeding.seed_data(
        seed,
        {
            "prefix": "jung-",
            "env": "stage",
            "rds_class": "db.t3.medium",
            "rds_multi_az": "true",
            "cache_node_type": "cache.t3.small",
            "cache_replicas": "1",
        },
    )
    cluster = aws.eks_cluster("jung-dev-eks")
    assert cluster is not None
    assert cluster["status"] == "ACTIVE"
    assert cluster["endpoint"].rstrip("/") == eks["cluster_endpoint"]
    assert cluster["certificate_authority_data"] == eks["cluster_certificate_authority_data"]
    assert cluster["oidc_issuer_url"].startswith("https://oidc.eks.")
    assert cluster["version"] == "1.33"
    db = aws.rds_instance(data["rds_instance_id"])
    assert db is not None
    assert (db["status"], db["multi_az"], db["instance_class"], db["engine"]) == ("available", True, "db.t3.medium", "postgres")
    assert db["endpoint"] == data["rds_endpoint"]
    group = aws.replication_group(data["valkey_replication_group_id"])
    assert group is not None
    assert (group["status"], group["node_count"], group["automatic_failover"], group["multi_az"]) == ("available", 2, True, True)
    assert group["primary_endpoint"] == data["valkey_primary_endpoint"]
    assert group["engine"] == "valkey"


def test_ecr_tags_and_repositories(aws: AwsSession, seed: seeding.Seed) -> None:
    urls = seeding.seed_ecr(seed, {"prefix": "jung-", "images": "saleor-api,saleor-dashboard"})["repository_urls"]
    ecr = seed.client("ecr")
    ecr.put_image(
        repositoryName="jung-saleor-api",
        imageTag="3.23.28",
        imageManifest='{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", '
        '"config": {"digest": "sha256:' + "a" * 64 + '"}, "layers": []}',
    )
    assert aws.image_tags_present("jung-saleor-api", ["3.23.28", "3.23.29"]) == {"3.23.28": True, "3.23.29": False}
    assert aws.repositories(["jung-saleor-api", "jung-saleor-storefront"]) == {
        "jung-saleor-api": urls["saleor-api"],
        "jung-saleor-storefront": None,
    }
    with pytest.raises(PermanentError, match="ECR repository jung-saleor-storefront does not exist") as caught:
        aws.image_tags_present("jung-saleor-storefront", ["1.0.0-dev"])
    assert "mgmt.registry" in caught.value.hint


def test_route53_cloudfront_acm_and_waf(aws: AwsSession, seed: seeding.Seed) -> None:
    assert aws.find_zone("mgz-g2-u3.shop") is None
    edge = seeding.seed_global(seed, {"domain": "mgz-g2-u3.shop", "prefix": "jung-"})
    made = seeding.seed_edge(
        seed,
        {
            "domain": "mgz-g2-u3.shop",
            "prefix": "jung-",
            "env": "dev",
            "service_host": "dev.mgz-g2-u3.shop",
            "api_host": "dev-api.mgz-g2-u3.shop",
            "origin_service_host": "origin-dev.mgz-g2-u3.shop",
            "origin_api_host": "origin-dev-api.mgz-g2-u3.shop",
        },
    )
    zone = aws.find_zone("mgz-g2-u3.shop")
    assert zone is not None and zone["id"] == edge["hosted_zone_id"]
    dist = aws.distribution(made["cloudfront_distribution_ids"]["api"])
    assert dist is not None
    assert dist["aliases"] == ["dev-api.mgz-g2-u3.shop"]
    assert dist["web_acl_id"] == edge["waf_web_acl_arn"]
    assert dist["certificate_arn"] == edge["cloudfront_certificate_arn"]
    target = aws.alias_target(zone["id"], "dev-api.mgz-g2-u3.shop")
    assert target == {"dns_name": dist["domain_name"], "hosted_zone_id": "Z2FDTNDATAQYW2", "is_cloudfront": True}
    assert aws.alias_target(zone["id"], "stage.mgz-g2-u3.shop") is None
    cert = aws.certificate(edge["cloudfront_certificate_arn"])
    assert cert is not None
    assert (cert["region"], cert["status"], cert["domain"]) == ("us-east-1", "ISSUED", "mgz-g2-u3.shop")
    assert "*.mgz-g2-u3.shop" in cert["names"]
    acl = aws.web_acl(edge["waf_web_acl_arn"])
    assert acl is not None and (acl["name"], acl["scope"]) == ("jung-cloudfront-waf", "CLOUDFRONT")
    assert aws.distribution("E000000000000") is None
    assert aws.certificate(edge["cloudfront_certificate_arn"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000") is None


def _stubbed(session: AwsSession, service: str, region: str | None = None) -> Stubber:
    stubber = Stubber(session.client(service, region))
    stubber.activate()
    return stubber


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("ThrottlingException", 400, "throttling (ThrottlingException)"),
        ("UpstreamUnavailable", 503, "http 503 (UpstreamUnavailable)"),
    ],
)
def test_throttling_and_5xx_become_transient_errors(code: str, status: int, reason: str) -> None:
    session = AwsSession(REGION, endpoint_url="http://127.0.0.1:9")
    stubber = _stubbed(session, "eks")
    stubber.add_client_error("describe_cluster", service_error_code=code, http_status_code=status)
    with pytest.raises(TransientError) as caught:
        session.eks_cluster("jung-dev-eks")
    assert caught.value.reason == reason
    assert "describe EKS cluster jung-dev-eks" in caught.value.message


def test_access_denied_is_permanent_with_a_hint() -> None:
    session = AwsSession(REGION, endpoint_url="http://127.0.0.1:9")
    stubber = _stubbed(session, "rds")
    stubber.add_client_error("describe_db_instances", service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(PermanentError, match="access denied") as caught:
        session.rds_instance("jung-dev-saleor")
    assert "permission" in caught.value.hint


def test_missing_credentials_are_unavailable_so_a_dry_run_can_go_on(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    session = AwsSession(REGION, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(Unavailable, match="no usable AWS credentials") as caught:
        session.caller_identity()
    assert "AWS_PROFILE" in caught.value.hint


def test_unreachable_endpoint_is_unavailable() -> None:
    session = AwsSession(REGION, endpoint_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(Unavailable, match="unreachable"):
        session.check_state_backend(BUCKET, TABLE)


def test_rejected_credentials_are_unavailable_and_unknown_errors_permanent() -> None:
    from botocore.exceptions import ClientError

    expired = ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "GetCallerIdentity")
    assert isinstance(translate(expired, "read the identity"), Unavailable)
    odd = translate(ValueError("bad"), "read the identity")
    assert isinstance(odd, PermanentError) and "ValueError: bad" in odd.message


def test_a_dropped_connection_or_a_lost_answer_is_transient() -> None:
    """Issue 10 (2): after botocore's own retries, a closed connection or a read time-out
    (the answer lost) is retried by kyeol, not reported as an unexpected SDK error."""
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    from runbook.errors import TransientError
    from steps.adapters.aws import translate

    for exc in (ConnectionClosedError(endpoint_url="https://eks.x"), ReadTimeoutError(endpoint_url="https://eks.x")):
        translated = translate(exc, "describe EKS cluster x")
        assert isinstance(translated, TransientError) and translated.reason == "aws connection lost"
