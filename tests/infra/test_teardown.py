"""What `kyeol destroy --env E` needs of the env roots: nothing that blocks `terraform destroy`
of a disposable env, and everything that keeps a protected env's data.

A versioned S3 bucket with objects cannot be deleted unless `force_destroy` is set, so every
bucket of an env root must say it: true where the env has no deletion protection (dev), false
where it has (stage, prod: their RDS also keeps a final snapshot and deletion protection).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra import conformance as c
from tests.infra.evaluate import Instance, instantiate
from tests.infra.paths import INFRA


def instances(inst: Instance) -> Iterator[Instance]:
    yield inst
    for child in inst.children.values():
        yield from instances(child)


def buckets(env: str) -> dict[str, object]:
    """Every aws_s3_bucket of the env root, by address, with its evaluated force_destroy."""
    found: dict[str, object] = {}
    for inst in instances(instantiate(c.env_root(INFRA, env))):
        for block in inst.resources("aws_s3_bucket"):
            address = f"{inst.address}.aws_s3_bucket.{block.labels[1]}".lstrip(".")
            attr = block.attrs.get("force_destroy")
            found[address] = inst.evaluate(attr.value) if attr is not None else "unset"
    return found


@pytest.mark.parametrize(("env", "disposable"), [("dev", True), ("stage", False), ("prod", False)])
def test_every_env_bucket_says_whether_destroy_may_empty_it(env: str, disposable: bool) -> None:
    found = buckets(env)
    assert len(found) >= 3, found  # CloudFront logs, Saleor media and its access logs
    assert found == dict.fromkeys(found, disposable), found
