"""Phase 1: the Terraform state bucket and lock table (``envs/bootstrap``, local state).

Everything else keeps its Terraform state in this bucket, so it comes first. Its result can
be checked completely through the AWS API — bucket versioned, SSE-KMS, public access blocked,
lock table ACTIVE — so a bootstrap made from another machine (whose local state is not here)
counts as done.
"""

from __future__ import annotations

from typing import Any

from runbook.errors import PermanentError
from runbook.step import SHARED, StepContext
from steps.config import EnvConfig
from steps.services import Services
from steps.terraform_root import TerraformRootStep


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
        aws = self.services.aws()
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
        resource = address.rsplit(".", 2)[-2] if address.count(".") >= 1 else address
        if address.startswith("aws_s3_bucket") and resource.startswith("aws_s3_bucket"):
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
        problems = self.services.aws().check_state_backend(self.config.state_bucket, self.config.lock_table)
        if problems:
            raise PermanentError(
                "the Terraform state backend is not as required after apply: " + "; ".join(problems),
                hint="fix envs/bootstrap (versioning, SSE-KMS, public access block, LockID table) and run again",
            )
        return dict(outputs)


def build(services: Services, env: EnvConfig) -> list[Bootstrap]:
    return [Bootstrap(services, env)]
