"""The redactor: registered values and secret shapes are masked everywhere, shapes are
pluggable (the engine knows no cloud), and short values are not registered."""

from __future__ import annotations

from runbook.redact import MASK, Redactor
from steps.wiring.services import redactor_for_kyeol


def test_registered_values_are_masked_longest_first():
    r = Redactor()
    r.add("hunter2hunter2")
    r.add("hunter2hunter2-extended")
    assert r.redact("a hunter2hunter2-extended b hunter2hunter2") == f"a {MASK} b {MASK}"


def test_short_values_are_not_registered_so_output_stays_readable():
    r = Redactor()
    r.add("abc")
    assert r.redact("abc abc") == "abc abc" and len(r) == 0


def test_private_keys_and_authorization_headers_are_masked_unregistered():
    r = Redactor()
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"
    text = r.redact(f"key={pem}\nAuthorization: Bearer abc.def.ghi")
    assert "MIIE" not in text and "abc.def.ghi" not in text and "Authorization: Bearer ***" in text


def test_the_engine_knows_no_cloud_shapes_until_a_product_adds_them():
    generic = Redactor()
    assert generic.redact("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSFODNN7EXAMPLE"
    kyeol = redactor_for_kyeol()
    text = kyeol.redact("AKIAIOSFODNN7EXAMPLE k8s-aws-v1.aHR0cHM6Ly9zdHM ghp_" + "a" * 36 + " aws_secret_access_key = abcd/efg")
    assert "AKIA" not in text and "aHR0cHM6" not in text and "ghp_a" not in text and "abcd/efg" not in text
    assert "aws_secret_access_key = ***" in text


def test_an_empty_redactor_is_still_truthy_so_it_is_shared_not_replaced():
    r = Redactor()
    assert bool(r) and (r or Redactor()) is r


def test_redact_obj_walks_json_like_structures():
    r = Redactor()
    r.add("s3cr3t-value")
    assert r.redact_obj({"a": ["x s3cr3t-value", 3], "b": ("s3cr3t-value",)}) == {"a": [f"x {MASK}", 3], "b": [MASK]}
