"""The transient/permanent rules for Terraform and AWS errors, through the engine's classifier."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from runbook.clock import FakeClock
from runbook.errors import PermanentError, TransientError
from runbook.retry import Classifier, RetryPolicy, call_with_retries
from steps.adapters.terraform import LockInfo, StateLocked
from steps.wiring import errors_catalog


@pytest.fixture
def classifier() -> Classifier:
    return errors_catalog.register(Classifier())


def client_error(code: str, status: int = 400, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DescribeCluster",
    )


# Real shapes of Terraform diagnostics (AWS provider / S3 backend, aws-sdk-go-v2 wording),
# folded onto one line as the Terraform adapter does, and the rule each must hit.
TRANSIENT_TEXT = [
    (
        (
            "creating EKS Node Group: operation error EKS: CreateNodegroup, https response error StatusCode: 400, "
            "RequestID: 1, api error ThrottlingException: Rate exceeded"
        ),
        "throttling",
    ),
    (
        (
            "reading EC2 VPC: operation error EC2: DescribeVpcs, exceeded maximum number of attempts, 25, "
            "https response error StatusCode: 503, RequestID: 2, api error RequestLimitExceeded: Request limit exceeded."
        ),
        "throttling",
    ),
    ("creating Lambda Function: TooManyRequestsException: Rate exceeded", "throttling"),
    ("Error running command: exit status 1. Output: Error: Throttling: Rate\nexceeded", "throttling"),
    (
        ("reading S3 Bucket: operation error S3: HeadBucket, https response error StatusCode: 503, api error ServiceUnavailable"),
        "service unavailable",
    ),
    ("operation error ELBv2: DescribeLoadBalancers, https response error StatusCode: 502, RequestID: 3", "http 5xx"),
    (
        (
            'Post "https://eks.ap-northeast-1.amazonaws.com/clusters": read tcp 10.0.0.5:51234->52.95.1.1:443: read: '
            "connection reset by peer"
        ),
        "connection reset",
    ),
    ('Get "https://sts.amazonaws.com/": dial tcp 52.94.1.1:443: i/o timeout', "i/o timeout"),
    ('Post "https://iam.amazonaws.com/": net/http: TLS handshake timeout', "tls handshake timeout"),
    (
        (
            "creating EKS Cluster (jung-dev-eks): operation error EKS: CreateCluster, https response error StatusCode: "
            "400, api error InvalidParameterException: Role with arn: arn:aws:iam::123456789012:role/jung-dev-eks-cluster, "
            "could not be assumed because it does not exist or the trusted entity is not correct"
        ),
        "iam eventual consistency",
    ),
    ("updating EKS Cluster (jung-dev-eks) version: ResourceInUseException: Cluster is currently being updated", "resource busy"),
    (
        (
            "modifying ElastiCache Replication Group: InvalidReplicationGroupState: Replication group must be in "
            "available state to modify."
        ),
        "resource busy",
    ),
    (
        (
            "Saved plan is stale: The given plan file can no longer be applied because the state was changed by another "
            "operation after the plan was created."
        ),
        "stale saved plan",
    ),
]

PERMANENT_TEXT = [
    'Unsupported argument: An argument named "nodes" is not expected here.',
    "Invalid reference: A reference to a resource type must be followed by at least one attribute access.",
    (
        "creating S3 Bucket: operation error S3: CreateBucket, https response error StatusCode: 403, api error "
        "AccessDenied: Access Denied"
    ),
    (
        "creating EKS Cluster: api error AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not "
        "authorized to perform: eks:CreateCluster"
    ),
    # A permanent cause wins even when the same output also shows throttling.
    "AccessDenied: not authorized; later: Throttling: Rate exceeded",
    "InvalidClientTokenId: The security token included in the request is invalid.",
    # A refused variable stays refused, even in output that also shows a provider's 503.
    (
        "Invalid value for variable: operator_cidrs holds a documentation range (TEST-NET 192.0.2.0/24, ...); "
        "earlier: StatusCode: 503, ServiceUnavailable"
    ),
    (
        "creating RDS DB Instance: InvalidParameterCombination: RDS does not support creating a DB instance with "
        "the following combination: DBInstanceClass=db.t3.small, Engine=postgres"
    ),
]


@pytest.mark.parametrize(("text", "rule"), TRANSIENT_TEXT)
def test_transient_terraform_and_aws_text_is_retried_with_its_rule_name(classifier: Classifier, text: str, rule: str) -> None:
    exc = PermanentError(f"terraform apply failed in envs/dev (exit 1): {text}")
    assert classifier.classify(exc) == rule
    assert errors_catalog.transient_reason(exc) == rule


@pytest.mark.parametrize("text", PERMANENT_TEXT)
def test_configuration_and_permission_errors_are_permanent(classifier: Classifier, text: str) -> None:
    assert classifier.classify(PermanentError(f"terraform plan failed: {text}")) is None
    assert errors_catalog.transient_reason(PermanentError(text)) is None


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("Throttling", 400, "throttling (Throttling)"),
        ("ThrottlingException", 400, "throttling (ThrottlingException)"),
        ("RequestLimitExceeded", 503, "throttling (RequestLimitExceeded)"),
        ("SlowDown", 503, "throttling (SlowDown)"),
        ("ServiceUnavailable", 503, "service unavailable (ServiceUnavailable)"),
        ("InternalError", 500, "service unavailable (InternalError)"),
        ("SomethingNew", 502, "http 502 (SomethingNew)"),
        ("ResourceInUseException", 409, "resource busy (ResourceInUseException)"),
    ],
)
def test_botocore_error_codes_are_transient(classifier: Classifier, code: str, status: int, reason: str) -> None:
    exc = client_error(code, status)
    assert errors_catalog.aws_error_reason(exc) == reason
    assert classifier.classify(exc) == reason


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDenied", 403), ("ValidationException", 400), ("ResourceNotFoundException", 404), ("ExpiredToken", 400)],
)
def test_botocore_client_errors_that_retrying_cannot_fix(classifier: Classifier, code: str, status: int) -> None:
    assert classifier.classify(client_error(code, status)) is None


def test_botocore_network_blips_are_transient_but_an_unreachable_endpoint_is_not(classifier: Classifier) -> None:
    assert classifier.classify(ReadTimeoutError(endpoint_url="https://eks")) == "connection (ReadTimeoutError)"
    assert classifier.classify(ConnectionClosedError(endpoint_url="https://eks")) == "connection (ConnectionClosedError)"
    assert classifier.classify(EndpointConnectionError(endpoint_url="https://eks")) is None


def test_a_held_state_lock_is_never_retried_whatever_its_text(classifier: Classifier) -> None:
    lock = LockInfo(id="5a52c25f", who="ci@runner-throttling", operation="OperationTypeApply")
    exc = StateLocked("envs/dev", lock, 300)
    assert classifier.classify(exc) is None


def test_rules_keep_the_builtin_ones_first_and_have_short_names(classifier: Classifier) -> None:
    assert classifier.rules[0] == "transient"  # the engine's own TransientError rule stays first
    names = classifier.rules[len(Classifier().rules) :]
    assert names[0] == "aws error code"
    assert {name for name, _ in errors_catalog.TRANSIENT_PATTERNS} <= set(names)
    assert all(len(name) <= 25 for name in names)
    assert classifier.classify(TransientError("x", reason="eks still creating")) == "eks still creating"


def test_engine_retries_a_throttled_call_until_it_passes_and_stops_at_once_on_access_denied(classifier: Classifier) -> None:
    calls: list[int] = []
    retries: list[str] = []

    def throttled_twice() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise client_error("ThrottlingException")
        return "ok"

    result = call_with_retries(
        throttled_twice,
        policy=RetryPolicy(max_attempts=3),
        classifier=classifier,
        clock=FakeClock(),
        on_retry=lambda n, reason, exc, delay: retries.append(reason),
    )
    assert result == "ok" and len(calls) == 3
    assert retries == ["throttling (ThrottlingException)"] * 2

    denied: list[int] = []

    def access_denied() -> None:
        denied.append(1)
        raise client_error("AccessDenied", 403)

    with pytest.raises(ClientError):
        call_with_retries(access_denied, policy=RetryPolicy(max_attempts=3), classifier=classifier, clock=FakeClock())
    assert len(denied) == 1
