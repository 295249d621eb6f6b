"""Phase 1: the Terraform state bucket and lock table (``envs/bootstrap``, local state), and
the account audit baseline (``envs/account``) beside everything after it.

Everything else keeps its Terraform state in this bucket, so it comes first. Its result can
be checked completely through the AWS API — bucket versioned, SSE-KMS, public access blocked,
lock table ACTIVE — so a bootstrap made from another machine (whose local state is not here)
counts as done.
"""

from __future__ import annotations

from typing import Any

from runbook.errors import PermanentError
from runbook.step import SHARED, StepContext
from steps.phases.terraform_root import TerraformRootStep
from steps.wiring.config import EnvConfig
from steps.wiring.services import Services


class Bootstrap(TerraformRootStep):
    id = "bootstrap"
    phase = 1
    title = "Terraform state bucket and lock table"
    scope = SHARED
    root = "envs/bootstrap"
    local_state = True
    required_outputs = ("state_bucket", "lock_table", "region")
    trust_probe_without_record = True
    # init + apply of an S3 bucket, a KMS key and a DynamoDB table: ~1 min (0.5-2; durations.md §3).
    estimate_s = 60.0
    timeout_s = 600.0

    def facts(self) -> dict[str, Any]:
        return {"state_bucket": self.config.state_bucket, "lock_table": self.config.lock_table, "region": self.config.region}

    def variables(self, ctx: StepContext) -> dict[str, Any]:
        return dict(self.facts())

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        aws = self.aws
        problems = aws.check_state_backend(self.config.state_bucket, self.config.lock_table)
        if problems:
            return False, "; ".join(problems), {}
        found = self.facts()
        # Found rather than applied here (another machine bootstrapped): the key still has to be
        # known, or every later root's state would fall back to the bucket's default key.
        kms_key = outputs.get("kms_key_arn") or aws.state_bucket_kms_key(self.config.state_bucket)
        if kms_key:
            found["kms_key_arn"] = kms_key
        return True, f"state bucket {self.config.state_bucket} and lock table {self.config.lock_table} are ready", found

    def import_id(self, address: str) -> str | None:
        # The bucket's own settings import by the bucket's name, the table by its name (the
        # aws provider's import sections); the KMS key and the log bucket are not known here.
        if address.startswith("aws_s3_bucket"):
            return self.config.state_bucket
        if address.startswith("aws_dynamodb_table."):
            return self.config.lock_table
        return None

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        for key, wanted in self.facts().items():
            if outputs.get(key) != wanted:
                raise PermanentError(
                    f"envs/bootstrap output {key} is {outputs.get(key)!r}, but kyeol.toml derives {wanted!r}",
                    hint="the bootstrap root must use the state_bucket, lock_table and region variables kyeol passes",
                )
        problems = self.aws.check_state_backend(self.config.state_bucket, self.config.lock_table)
        if problems:
            raise PermanentError(
                "the Terraform state backend is not as required after apply: " + "; ".join(problems),
                hint="fix envs/bootstrap (versioning, SSE-KMS, public access block, LockID table) and run again",
            )
        return dict(outputs)


class AccountBaseline(TerraformRootStep):
    """``account``: the ISMS-P audit baseline of the account (``envs/account``, own state key).

    It needs only the state bucket (its backend), and nothing waits for it: MGMT and the env
    roots read none of its outputs, so it runs beside them. Controls the account already has
    and cannot hold twice (an organization trail, the region's GuardDuty detector, Config
    recorder or account Access Analyzer) are detected before the plan, passed as
    ``create_* = false`` and reported (``existing_controls`` in its outputs, and the log).
    """

    id = "account"
    phase = 1
    title = "Account audit baseline (CloudTrail, GuardDuty, Config, Access Analyzer, PAB, EBS encryption)"
    scope = SHARED
    needs = ("bootstrap",)
    root = "envs/account"
    required_outputs = ("audit_bucket", "audit_kms_key_arn", "region")
    # KMS key, two buckets, a trail, a detector and its features, a recorder and ~20 rules:
    # API calls of seconds each, ~1.5 min with init/plan (durations.md §3 scale of IAM/S3).
    estimate_s = 90.0
    timeout_s = 900.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        super().__init__(services, env)
        self._existing: dict[str, str] | None = None

    @property
    def own_names(self) -> dict[str, str]:
        p = self.config.prefix
        return {"own_trail": f"{p}kyeol-trail", "own_recorder": f"{p}kyeol", "own_analyzer": f"{p}kyeol-account"}

    def data_event_buckets(self) -> list[str]:
        """The state bucket and each target env's media and private buckets."""
        buckets = [self.config.state_bucket]
        for name, env in sorted(self.config.envs.items()):
            if name == "mgmt":
                continue
            buckets += [env.media_bucket, env.private_media_bucket]
        return buckets

    def facts(self) -> dict[str, Any]:
        return {"prefix": self.config.prefix, "region": self.config.region, "data_event_buckets": self.data_event_buckets()}

    def variables(self, ctx: StepContext) -> dict[str, Any]:
        existing = self._existing or {}
        return {
            "name_prefix": self.config.prefix,
            "region": self.config.region,
            "data_event_buckets": self.data_event_buckets(),
            "create_trail": "trail" not in existing,
            "create_guardduty_detector": "guardduty" not in existing,
            "create_config_recorder": "config" not in existing,
            "create_access_analyzer": "access_analyzer" not in existing,
        }

    def detect(self, ctx: StepContext) -> dict[str, str]:
        from steps.adapters.security import existing_controls

        self._existing = existing_controls(self.aws, **self.own_names)
        for what, description in sorted(self._existing.items()):
            ctx.log.warning("account control exists already: kyeol does not create its own", control=what, found=description)
        return self._existing

    def saved_plan(self, ctx: StepContext) -> Any:
        if self._existing is None:
            self.detect(ctx)
        return super().saved_plan(ctx)

    def _evidence(self) -> tuple[bool, str]:
        from steps.adapters.security import run_checks

        results = run_checks(self.aws, self.config.mgmt.account_id)
        failing = [f"{r.control}: {r.detail}" for r in results if not r.ok]
        if failing:
            return False, "; ".join(failing)
        return True, "account baseline in force: " + ", ".join(r.control for r in results)

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        done, detail = self._evidence()
        return done, detail, {}

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        # Trail logging and detector status are immediate after the API calls; a recorder
        # starts within seconds.
        self.wait_until(
            ctx,
            "account controls in force",
            self._evidence,
            timeout=300.0,
            hint="run kyeol verify --security to see which control fails",
        )
        recorded = dict(outputs)
        recorded["existing_controls"] = dict(self._existing or {})
        return recorded


def build(services: Services, env: EnvConfig) -> list[TerraformRootStep]:
    return [Bootstrap(services, env), AccountBaseline(services, env)]
