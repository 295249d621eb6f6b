"""ALB access logs: each env's Saleor Ingress sends its ALB's logs to the bucket Terraform makes
for that env (modules/alb-logs), under the module's key prefix — the bucket policy lets the
ELB log delivery account write only there. Read offline: the rendered overlay and the tree as
tests/infra/evaluate.py evaluates it."""

from __future__ import annotations

from typing import Any

import pytest

from steps.wiring.config import TARGET_ENVS, load_config
from tests.gitops.support import APP, ROOT, render
from tests.infra import conformance as c
from tests.infra.evaluate import Unknown, instantiate

ANNOTATION = "alb.ingress.kubernetes.io/load-balancer-attributes"


def attributes(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The Saleor Ingress's load-balancer attributes (key=value,... as the LB controller reads them)."""
    ingress = next(d for d in docs if d["kind"] == "Ingress" and d["metadata"]["name"] == "saleor")
    raw = ingress["metadata"]["annotations"][ANNOTATION]
    return dict(pair.split("=", 1) for pair in raw.split(","))


def terraform_alb_logs(infra_tree, env: str) -> tuple[str, str]:
    """(the bucket name's known prefix, the key prefix) of the env root's modules/alb-logs."""
    root = instantiate(c.env_root(infra_tree, env))
    for inst, block, scope in c.instances_of(root, "aws_s3_bucket"):
        if inst.directory.name != "alb-logs":
            continue
        bucket = inst.attr(block, "bucket", scope=scope)
        assert isinstance(bucket, Unknown) and "data.aws_caller_identity" in bucket.source, bucket
        return bucket.prefix, inst.variables["key_prefix"]
    raise AssertionError(f"envs/{env} has no modules/alb-logs bucket")


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_the_ingress_logs_to_the_bucket_and_prefix_terraform_makes_for_its_env(env: str, infra_tree) -> None:
    config = load_config(ROOT / "kyeol.toml")
    attrs = attributes(render(APP / "apps" / "saleor" / "overlays" / env))
    name_prefix, key_prefix = terraform_alb_logs(infra_tree, env)
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["access_logs.s3.bucket"] == name_prefix + config.env(env).account_id == config.env(env).alb_logs_bucket
    assert attrs["access_logs.s3.prefix"] == key_prefix
    # what the base sets is kept
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
