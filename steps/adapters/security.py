"""Read-only evidence of the account audit baseline (``kyeol verify --security``, the
``account`` step's probe) and detection of controls someone else already runs.

Each check answers one ISMS-P control through the AWS API and names it when it fails:

* ``cloudtrail``   — a multi-region trail is logging and validates its log files;
* ``guardduty``    — the region's GuardDuty detector is ENABLED;
* ``config``       — an AWS Config recorder is recording (all supported resources);
* ``s3-account-pab`` — account-level S3 Block Public Access, all four settings on;
* ``ebs-encryption`` — EBS encryption by default on.

Failures of AWS itself go through :class:`steps.adapters.aws.AwsSession` (``_call``), so no
credentials is ``Unavailable`` and AccessDenied a ``PermanentError`` naming the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steps.adapters.aws import AwsSession

if TYPE_CHECKING:
    from mypy_boto3_accessanalyzer.type_defs import AnalyzerSummaryTypeDef
    from mypy_boto3_cloudtrail.type_defs import TrailTypeDef
    from mypy_boto3_config.type_defs import ConfigurationRecorderOutputTypeDef, ConfigurationRecorderStatusTypeDef
    from mypy_boto3_s3control import S3ControlClient

CONTROLS = ("cloudtrail", "guardduty", "config", "s3-account-pab", "ebs-encryption")
_PAB = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(frozen=True)
class ControlResult:
    control: str
    ok: bool
    detail: str


def _trails(aws: AwsSession) -> list[TrailTypeDef]:
    found = aws._call(
        "list CloudTrail trails (cloudtrail:DescribeTrails)",
        lambda: aws.client("cloudtrail").describe_trails(includeShadowTrails=True),
    )
    return list((found or {}).get("trailList", []))


def check_cloudtrail(aws: AwsSession) -> ControlResult:
    trails = [t for t in _trails(aws) if t.get("IsMultiRegionTrail")]
    if not trails:
        return ControlResult("cloudtrail", False, "no multi-region trail records this account")
    problems = []
    for trail in trails:
        name = trail.get("TrailARN") or trail["Name"]
        status = aws._call(f"read the status of trail {name}", lambda: aws.client("cloudtrail").get_trail_status(Name=name)) or {}
        if not status.get("IsLogging"):
            problems.append(f"trail {trail['Name']} is not logging")
        elif not trail.get("LogFileValidationEnabled"):
            problems.append(f"trail {trail['Name']} does not validate its log files")
        else:
            where = "organization trail" if trail.get("IsOrganizationTrail") else "trail"
            return ControlResult("cloudtrail", True, f"{where} {trail['Name']} logging, multi-region, log files validated")
    return ControlResult("cloudtrail", False, "; ".join(problems))


def _detectors(aws: AwsSession) -> list[dict[str, Any]]:
    gd = aws.client("guardduty")
    ids = (aws._call("list GuardDuty detectors", gd.list_detectors) or {}).get("DetectorIds", [])
    detectors = []
    for detector_id in ids:
        found = aws._call(f"read GuardDuty detector {detector_id}", lambda: gd.get_detector(DetectorId=detector_id)) or {}
        detectors.append({"id": detector_id, **found})
    return detectors


def check_guardduty(aws: AwsSession) -> ControlResult:
    detectors = _detectors(aws)
    if not detectors:
        return ControlResult("guardduty", False, f"no GuardDuty detector in {aws.region}")
    enabled = [d for d in detectors if d.get("Status") == "ENABLED"]
    if not enabled:
        return ControlResult("guardduty", False, f"GuardDuty detector {detectors[0]['id']} is {detectors[0].get('Status')}")
    return ControlResult("guardduty", True, f"detector {enabled[0]['id']} ENABLED in {aws.region}")


def _recorders(aws: AwsSession) -> tuple[list[ConfigurationRecorderOutputTypeDef], dict[str, ConfigurationRecorderStatusTypeDef]]:
    cfg = aws.client("config")
    recorders = (aws._call("list AWS Config recorders", cfg.describe_configuration_recorders) or {}).get(
        "ConfigurationRecorders", []
    )
    statuses = (aws._call("read AWS Config recorder status", cfg.describe_configuration_recorder_status) or {}).get(
        "ConfigurationRecordersStatus", []
    )
    return recorders, {s["name"]: s for s in statuses}


def check_config(aws: AwsSession) -> ControlResult:
    recorders, statuses = _recorders(aws)
    if not recorders:
        return ControlResult("config", False, f"no AWS Config recorder in {aws.region}")
    for recorder in recorders:
        status = statuses.get(recorder["name"], {})
        group = recorder.get("recordingGroup") or {}
        if not status.get("recording"):
            return ControlResult("config", False, f"AWS Config recorder {recorder['name']} is not recording")
        if not group.get("allSupported", False):
            return ControlResult(
                "config", False, f"AWS Config recorder {recorder['name']} does not record all supported resources"
            )
    return ControlResult("config", True, f"recorder {recorders[0]['name']} recording all supported resources")


def s3control(aws: AwsSession) -> S3ControlClient:
    """The S3 Control client. Its endpoint rules put the account id before the host
    (``<account>.s3-control.<region>.amazonaws.com``; botocore
    data/s3control/2018-08-20/endpoint-rule-set-1.json), also before an endpoint set by
    ``AWS_ENDPOINT_URL``, where no such name exists (moto's server on loopback): there the
    request goes to the endpoint itself; moto reads the account from the x-amz-account-id header."""
    client = aws.client("s3control")
    if aws.endpoint_url:
        from urllib.parse import urlsplit

        endpoint = urlsplit(aws.endpoint_url).netloc

        def direct(request: Any, **_: Any) -> None:
            parts = urlsplit(request.url)
            if parts.netloc.endswith("." + endpoint):
                request.url = parts._replace(netloc=endpoint).geturl()

        # The client is cached per session; the unique id registers the hook once per client.
        client.meta.events.register("before-send.s3-control", direct, unique_id="kyeol-s3control-direct")
    return client


def check_account_pab(aws: AwsSession, account_id: str) -> ControlResult:
    found = aws._call(
        "read the account's S3 Block Public Access (s3control:GetPublicAccessBlock)",
        lambda: s3control(aws).get_public_access_block(AccountId=account_id),
        missing=frozenset({"NoSuchPublicAccessBlockConfiguration"}),
    )
    settings = (found.get("PublicAccessBlockConfiguration") if found else None) or {}
    off = [name for name in _PAB if not settings.get(name)]
    if off:
        return ControlResult("s3-account-pab", False, f"account S3 Block Public Access off: {', '.join(off)}")
    return ControlResult("s3-account-pab", True, "all four account-level S3 Block Public Access settings on")


def check_ebs_encryption(aws: AwsSession) -> ControlResult:
    found = aws._call("read EBS encryption by default", lambda: aws.client("ec2").get_ebs_encryption_by_default()) or {}
    if not found.get("EbsEncryptionByDefault"):
        return ControlResult("ebs-encryption", False, f"EBS encryption by default is off in {aws.region}")
    return ControlResult("ebs-encryption", True, f"EBS encryption by default on in {aws.region}")


def run_checks(aws: AwsSession, account_id: str) -> list[ControlResult]:
    """Every control, in CONTROLS order."""
    return [
        check_cloudtrail(aws),
        check_guardduty(aws),
        check_config(aws),
        check_account_pab(aws, account_id),
        check_ebs_encryption(aws),
    ]


def security_payload(account: str, region: str, results: list[ControlResult]) -> dict[str, Any]:
    """The machine-readable shape (``--output json`` and the run report's ``security``)."""
    return {
        "account": account,
        "region": region,
        "ok": bool(results) and all(r.ok for r in results),
        "failed_controls": [r.control for r in results if not r.ok],
        "controls": [{"control": r.control, "status": "pass" if r.ok else "fail", "detail": r.detail} for r in results],
    }


def security_table(results: list[ControlResult]) -> str:
    """The same plain PASS/FAIL table as ``kyeol verify``: control, status, detail."""
    rows = [("CONTROL", "STATUS", "DETAIL")] + [(r.control, "PASS" if r.ok else "FAIL", r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip() for row in rows)


# -- what exists already (the account step does not duplicate it) ---------------------------


def _analyzers(aws: AwsSession) -> list[AnalyzerSummaryTypeDef]:
    found = aws._call("list IAM Access Analyzers", lambda: aws.client("accessanalyzer").list_analyzers(type="ACCOUNT"))
    return list((found or {}).get("analyzers", []))


def existing_controls(aws: AwsSession, *, own_trail: str, own_recorder: str, own_analyzer: str) -> dict[str, str]:
    """Controls present that kyeol did not make: {what: description}. ``trail`` is an
    organization trail (or another multi-region trail) that already records the account;
    ``guardduty``/``config``/``access_analyzer`` the region's single detector, recorder or
    analyzer when it is not kyeol's (kyeol's detector carries the managed-by tag)."""
    found: dict[str, str] = {}
    for trail in _trails(aws):
        if trail.get("Name") == own_trail or not trail.get("IsMultiRegionTrail"):
            continue
        if trail.get("IsOrganizationTrail"):
            found["trail"] = f"organization trail {trail.get('TrailARN', trail['Name'])}"
            break
    for detector in _detectors(aws):
        if (detector.get("Tags") or {}).get("managed-by") != "terraform/kyeol":
            found["guardduty"] = f"GuardDuty detector {detector['id']} ({detector.get('Status', '?')})"
    recorders, _ = _recorders(aws)
    for recorder in recorders:
        if recorder["name"] != own_recorder:
            found["config"] = f"AWS Config recorder {recorder['name']}"
    for analyzer in _analyzers(aws):
        if analyzer.get("name") != own_analyzer:
            found["access_analyzer"] = f"IAM Access Analyzer {analyzer.get('name')}"
    return found
