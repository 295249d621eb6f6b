"""`kyeol verify --security` and the account step's evidence, against moto (a real AWS API
server on loopback): every control passes on a compliant account, and each non-compliance is
named by its control. moto implements CloudTrail (trails, status), GuardDuty detectors, AWS
Config recorders, S3 Control's account Public Access Block and EC2's EBS default encryption.
moto does not implement IAM Access Analyzer (its server answers 500): ListAnalyzers is
answered by tests/standins/access_analyzer.py, reached through AWS_ENDPOINT_URL_ACCESSANALYZER."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from steps.adapters.aws import AwsSession
from steps.adapters.security import CONTROLS, existing_controls, run_checks, s3control, security_payload, security_table

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
TRAIL_BUCKET = f"jung-kyeol-audit-{ACCOUNT}"
OWN = {"own_trail": "jung-kyeol-trail", "own_recorder": "jung-kyeol", "own_analyzer": "jung-kyeol-account"}


@pytest.fixture
def aws(moto_endpoint: str) -> AwsSession:
    return AwsSession(REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def analyzers(monkeypatch: pytest.MonkeyPatch):
    """The account's Access Analyzers (the stand-in; see above)."""
    from tests.standins.access_analyzer import AccessAnalyzerStandIn

    stand_in = AccessAnalyzerStandIn().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_ACCESSANALYZER", stand_in.url)
    yield stand_in
    stand_in.stop()


def make_compliant(
    aws: AwsSession, *, trail: str = "jung-kyeol-trail", recorder: str = "jung-kyeol", tags: dict[str, str] | None = None
) -> str:
    """What envs/account applies, made through the same APIs; returns the detector id."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=TRAIL_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ct = aws.client("cloudtrail")
    ct.create_trail(Name=trail, S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True)
    ct.start_logging(Name=trail)
    detector = aws.client("guardduty").create_detector(Enable=True, Tags=tags or {"managed-by": "terraform/kyeol"})["DetectorId"]
    cfg = aws.client("config")
    cfg.put_configuration_recorder(
        ConfigurationRecorder={
            "name": recorder,
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/jung-kyeol-config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    cfg.put_delivery_channel(DeliveryChannel={"name": recorder, "s3BucketName": TRAIL_BUCKET, "s3KeyPrefix": "config"})
    cfg.start_configuration_recorder(ConfigurationRecorderName=recorder)
    s3control(aws).put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    aws.client("ec2").enable_ebs_encryption_by_default()
    return detector


def test_every_control_passes_on_a_compliant_account(aws: AwsSession) -> None:
    make_compliant(aws)
    results = run_checks(aws, ACCOUNT)
    assert [r.control for r in results] == list(CONTROLS)
    assert all(r.ok for r in results), [(r.control, r.detail) for r in results if not r.ok]
    assert security_payload(ACCOUNT, REGION, results)["ok"] is True
    table = security_table(results).splitlines()
    assert table[0].split() == ["CONTROL", "STATUS", "DETAIL"] and all(" PASS " in line for line in table[1:])


def test_an_empty_account_fails_every_control_by_name(aws: AwsSession) -> None:
    results = run_checks(aws, ACCOUNT)
    assert {r.control: r.ok for r in results} == dict.fromkeys(CONTROLS, False)
    assert security_payload(ACCOUNT, REGION, results)["failed_controls"] == list(CONTROLS)


def _trail_stopped(aws: AwsSession) -> None:
    aws.client("cloudtrail").stop_logging(Name="jung-kyeol-trail")


def _trail_unvalidated(aws: AwsSession) -> None:
    aws.client("cloudtrail").update_trail(Name="jung-kyeol-trail", EnableLogFileValidation=False)


def _trail_single_region(aws: AwsSession) -> None:
    aws.client("cloudtrail").update_trail(Name="jung-kyeol-trail", IsMultiRegionTrail=False)


def _guardduty_off(aws: AwsSession) -> None:
    gd = aws.client("guardduty")
    gd.update_detector(DetectorId=gd.list_detectors()["DetectorIds"][0], Enable=False)


def _config_stopped(aws: AwsSession) -> None:
    aws.client("config").stop_configuration_recorder(ConfigurationRecorderName="jung-kyeol")


def _pab_partly_off(aws: AwsSession) -> None:
    s3control(aws).put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )


def _ebs_off(aws: AwsSession) -> None:
    aws.client("ec2").disable_ebs_encryption_by_default()


@pytest.mark.parametrize(
    ("break_it", "control", "says"),
    [
        (_trail_stopped, "cloudtrail", "is not logging"),
        (_trail_unvalidated, "cloudtrail", "does not validate its log files"),
        (_trail_single_region, "cloudtrail", "no multi-region trail"),
        (_guardduty_off, "guardduty", "DISABLED"),
        (_config_stopped, "config", "is not recording"),
        (_pab_partly_off, "s3-account-pab", "BlockPublicPolicy"),
        (_ebs_off, "ebs-encryption", "off"),
    ],
)
def test_each_non_compliance_fails_exactly_its_control(
    aws: AwsSession, break_it: Callable[[AwsSession], None], control: str, says: str
) -> None:
    make_compliant(aws)
    break_it(aws)
    results = {r.control: r for r in run_checks(aws, ACCOUNT)}
    assert not results[control].ok and says in results[control].detail, results[control]
    assert [c for c, r in results.items() if not r.ok] == [control]


def test_kyeols_own_controls_are_not_reported_as_existing(aws: AwsSession, analyzers) -> None:
    make_compliant(aws)
    analyzers.add("jung-kyeol-account")
    assert existing_controls(aws, **OWN) == {}


def test_controls_someone_else_runs_are_detected_not_duplicated(aws: AwsSession, analyzers) -> None:
    detector = make_compliant(aws, trail="jung-other-trail", recorder="default", tags={"owner": "security-team"})
    analyzers.add("org-analyzer")
    found = existing_controls(aws, **OWN)
    assert found["guardduty"].startswith(f"GuardDuty detector {detector}")
    assert found["config"] == "AWS Config recorder default"
    assert found["access_analyzer"] == "IAM Access Analyzer org-analyzer"
    # moto's trails are never organization trails: a plain multi-region trail of another name
    # is not reported (CloudTrail allows several trails; only an organization trail stands in for ours).
    assert "trail" not in found


def test_an_organization_trail_is_detected(aws: AwsSession, analyzers, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto cannot make an organization trail (it needs AWS Organizations' management account):
    the stand-in is at the boundary, DescribeTrails' answer as AWS documents it."""
    org_trail = {
        "Name": "org-trail",
        "TrailARN": "arn:aws:cloudtrail:us-east-1:999999999999:trail/org-trail",
        "IsMultiRegionTrail": True,
        "IsOrganizationTrail": True,
        "LogFileValidationEnabled": True,
    }
    from steps.adapters import security

    monkeypatch.setattr(security, "_trails", lambda _aws: [org_trail])
    assert existing_controls(aws, **OWN)["trail"] == f"organization trail {org_trail['TrailARN']}"


ROOT = Path(__file__).resolve().parents[3]


def verify_security(tmp_path: Path, output: str = "table") -> int:
    from steps.wiring.kyeol import KyeolProject

    return KyeolProject().verify_security(
        "dev", output=output, config=str(ROOT / "kyeol.toml"), log_format="json", runs_dir=str(tmp_path / "runs")
    )


def test_verify_security_prints_the_table_and_records_a_passing_run_report(
    aws: AwsSession, analyzers, tmp_path: Path, capsys
) -> None:
    make_compliant(aws)
    assert verify_security(tmp_path) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["CONTROL", "STATUS", "DETAIL"]
    assert all(f"{c} " in out for c in CONTROLS) and "FAIL" not in out and "baseline in force" in out
    [report] = list((tmp_path / "runs").glob("*.json"))
    doc = json.loads(report.read_text())
    assert doc["command"] == "verify --security" and doc["status"] == "ok" and doc["identity"]["account"] == ACCOUNT
    assert [c["control"] for c in doc["security"]["controls"]] == list(CONTROLS)
    assert all(c["status"] == "pass" for c in doc["security"]["controls"])


def test_verify_security_exits_1_naming_the_failed_control_and_the_report_says_so(
    aws: AwsSession, analyzers, tmp_path: Path, capsys
) -> None:
    make_compliant(aws)
    _guardduty_off(aws)
    assert verify_security(tmp_path, output="json") == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and payload["failed_controls"] == ["guardduty"]
    doc = json.loads(Path(payload["report"]).read_text())
    assert doc["status"] == "failed" and doc["exit_code"] == 1 and doc["security"]["failed_controls"] == ["guardduty"]


def test_verify_security_refuses_credentials_of_another_account(aws: AwsSession, tmp_path: Path) -> None:
    from runbook.errors import UsageError
    from steps.wiring.kyeol import KyeolProject

    other = tmp_path / "kyeol.toml"
    other.write_text((ROOT / "kyeol.toml").read_text().replace('account_id = "123456789012"', 'account_id = "111111111111"'))
    with pytest.raises(UsageError, match="credentials are for account 123456789012"):
        KyeolProject().verify_security(
            "dev", output="table", config=str(other), log_format="json", runs_dir=str(tmp_path / "runs")
        )
    assert not (tmp_path / "runs").exists(), "nothing was checked or recorded"


def test_verify_security_reads_the_env_account_with_that_envs_credentials(
    aws: AwsSession, analyzers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from steps.wiring.kyeol import KyeolProject
    from steps.wiring.services import Services

    make_compliant(aws)
    text = (ROOT / "kyeol.toml").read_text()
    for name in ("mgmt", "dev"):
        text = text.replace(f"[envs.{name}]\n", f'[envs.{name}]\nprofile = "kyeol-{name}"\n')
    config = tmp_path / "kyeol.toml"
    config.write_text(text)
    for tree in ("kyeol-infra-terraform", "kyeol-platform-gitops", "kyeol-app-gitops"):
        (tmp_path / tree).symlink_to(ROOT / tree)
    real, used = Services.aws, []

    def spy(self: Services, region: str | None = None, *, profile: str = "") -> AwsSession:
        used.append(profile)
        return real(self, region)  # moto answers any credentials: the profile is only recorded

    monkeypatch.setattr(Services, "aws", spy)
    code = KyeolProject().verify_security(
        "dev", output="table", config=str(config), log_format="json", runs_dir=str(tmp_path / "runs")
    )
    assert code == 0, capsys.readouterr()
    assert used and set(used) == {"kyeol-dev"}, used
