"""Which Terraform and AWS failures are worth retrying, as rules for the engine's classifier.

Retrying is only right when the cause goes away by itself: throttling, a 5xx answer, a reset
connection, or AWS's eventual consistency (a role created a second ago that EKS cannot assume
yet, a resource that is still being updated). Everything else — a typo in a ``.tf`` file, a
missing permission — fails at once: retrying an ``AccessDenied`` only delays the bad news.

:func:`register` adds the rules to a :class:`runbook.retry.Classifier`; each rule has a short
name, which the retry log prints ("retry 2/3 because throttling"). The AWS adapter uses
:func:`aws_error_reason` to decide, for a boto3 error, between ``TransientError`` and a failure.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook.retry import Classifier

# Text rules: (short name, pattern). They match terraform's diagnostics (which quote the AWS
# SDK's error, e.g. "api error ThrottlingException: Rate exceeded") and str() of SDK errors.
# Terraform wraps long lines, so words are separated by \s+ rather than a single space.
TRANSIENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "throttling",
        (
            r"\bThrottl(?:ing|ed)\b|ThrottlingException|Rate\s+exceeded|RequestLimitExceeded|TooManyRequestsException"
            r"|RequestThrottled|EC2ThrottledException|\bSlowDown\b|PriorRequestNotComplete|ProvisionedThroughputExceeded"
        ),
    ),
    ("service unavailable", r"ServiceUnavailable|Service\s+Unavailable|InternalFailure|\bInternalError\b|InternalServerError"),
    (
        "http 5xx",
        r"StatusCode:\s*5\d\d\b|status\s+code:?\s*5\d\d\b|\bHTTP/\d(?:\.\d)?\s+5\d\d\b|\b50[234]\s+(?:Bad\s+Gateway|Gateway\s+Time-?out)",
    ),
    ("connection reset", r"connection\s+reset(?:\s+by\s+peer)?|unexpected\s+EOF|broken\s+pipe"),
    ("i/o timeout", r"i/o\s+timeout"),
    ("tls handshake timeout", r"TLS\s+handshake\s+timeout"),
    ("request timeout", r"RequestTimeout(?:Exception)?\b|context\s+deadline\s+exceeded|Client\.Timeout\s+exceeded"),
    (
        # A role or instance profile created moments ago is not visible to EKS/EC2 yet.
        "iam eventual consistency",
        (
            r"InvalidParameterException:?.{0,300}?role.{0,300}?(?:cannot|could\s+not)\s+be\s+assumed"
            r"|(?:cannot|could\s+not)\s+be\s+assumed\s+by"
            r"|Invalid\s+IAM\s+Instance\s+Profile"
            r"|MalformedPolicyDocumentException:?.{0,200}?invalid\s+principals"
        ),
    ),
    (
        "resource busy",
        (
            r"ResourceInUseException|ConcurrentModificationException|OptimisticLockException|InvalidReplicationGroupState"
            r"|InvalidDBInstanceState|WAFUnavailableEntityException|WAFOptimisticLockException|OperationAborted"
            r"|is\s+currently\s+being\s+(?:updated|modified|created|deleted)"
        ),
    ),
    # Another run changed the state between our plan and our apply: plan again.
    ("stale saved plan", r"Saved\s+plan\s+is\s+stale"),
)

# When any of these appears, retrying cannot help, whatever else the text says: Terraform
# configuration errors and permission or credential problems.
PERMANENT_PATTERNS: tuple[str, ...] = (
    r"Unsupported\s+argument",
    r"Invalid\s+reference",
    r"Unsupported\s+attribute",
    r"Unsupported\s+block\s+type",
    r"Missing\s+required\s+argument",
    r"Reference\s+to\s+undeclared",
    r"Invalid\s+function\s+argument",
    # A variable's validation refused a value (e.g. the shipped operator_cidrs placeholder):
    # only an edit of the tfvars helps, whatever a provider printed next to it.
    r"Invalid\s+value\s+for\s+variable",
    r"\bAccessDenied(?:Exception)?\b",
    r"Access\s+Denied",
    r"UnauthorizedOperation",
    r"not\s+authorized\s+to\s+perform",
    r"InvalidClientTokenId",
    r"SignatureDoesNotMatch",
    r"\bExpiredToken(?:Exception)?\b",
    r"\bAuthFailure\b",
)
_PERMANENT = re.compile("|".join(PERMANENT_PATTERNS), re.IGNORECASE)

# botocore ClientError codes that mean "try again later".
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "BandwidthLimitExceeded",
    }
)
SERVER_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
BUSY_CODES = frozenset(
    {"ResourceInUseException", "ConcurrentModificationException", "OptimisticLockException", "PriorRequestNotComplete"}
)
# botocore exceptions (by class name, so botocore need not be imported) that are network blips.
TRANSIENT_BOTOCORE = frozenset({"ReadTimeoutError", "ConnectionClosedError", "ResponseStreamingError"})


def _vetoed(exc: BaseException) -> bool:
    """An error that says retrying is pointless: flagged by its raiser, or naming a permanent cause."""
    if getattr(exc, "retryable", None) is False:
        return True
    return _PERMANENT.search(_text(exc)) is not None


def _text(exc: BaseException) -> str:
    return str(exc)


def aws_error_reason(exc: BaseException) -> str | None:
    """For a botocore error: the reason to retry it, or None when retrying cannot help."""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in THROTTLING_CODES:
            return f"throttling ({code})"
        if code in SERVER_CODES:
            return f"service unavailable ({code})"
        if code in BUSY_CODES:
            return f"resource busy ({code})"
        if isinstance(status, int) and 500 <= status <= 599:
            return f"http {status}" + (f" ({code})" if code else "")
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & TRANSIENT_BOTOCORE:
        return f"connection ({type(exc).__name__})"
    return None


def transient_reason(exc: BaseException) -> str | None:
    """The short name of the first transient rule ``exc`` matches, unless it is vetoed."""
    if _vetoed(exc):
        return None
    reason = aws_error_reason(exc)
    if reason:
        return reason
    text = _text(exc)
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return None


_COMPILED = tuple((name, re.compile(pattern, re.IGNORECASE | re.DOTALL)) for name, pattern in TRANSIENT_PATTERNS)


def register(classifier: Classifier) -> Classifier:
    """Add the Terraform/AWS transient rules to ``classifier`` (after its built-in rules)."""

    def aws_code(exc: BaseException) -> str | None:
        return None if _vetoed(exc) else aws_error_reason(exc)

    classifier.add("aws error code", aws_code)
    for name, pattern in _COMPILED:
        classifier.add(name, _text_rule(pattern))
    return classifier


def classifier() -> Classifier:
    """A new classifier with the engine's rules and the Terraform/AWS transient ones."""
    from runbook.retry import Classifier

    return register(Classifier())


def _text_rule(pattern: re.Pattern[str]) -> Any:
    def predicate(exc: BaseException) -> bool:
        return not _vetoed(exc) and pattern.search(_text(exc)) is not None

    return predicate
