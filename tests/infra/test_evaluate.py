"""tests/infra/evaluate.py: the offline evaluator the runbook checks trace values with."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest

from tests.infra.evaluate import Unknown, instantiate


@pytest.fixture
def root(tmp_path: Path):
    (tmp_path / "modules/child").mkdir(parents=True)
    (tmp_path / "root").mkdir()
    (tmp_path / "modules/child/main.tf").write_text(
        dedent("""
        variable "name" {}
        variable "size" {
          default = 1
        }
        locals {
          replicated = var.size > 1
        }
        resource "aws_eks_cluster" "this" {
          name = var.name
        }
        output "label" {
          value = "${var.name}-${local.replicated ? "ha" : "single"}"
        }
        output "issuer" {
          value = aws_eks_cluster.this.identity[0].oidc[0].issuer
        }
        """)
    )
    (tmp_path / "root/main.tf").write_text(
        dedent("""
        variable "prefix" {}
        variable "env" {}
        variable "cidr" {
          default = "10.20.0.0/16"
        }
        variable "images" {
          default = ["api", "web"]
        }
        locals {
          name    = "${var.prefix}${var.env}"
          repos   = { for i in var.images : i => "${var.prefix}${i}" if i != "web" }
          subnets = [for i in range(2) : cidrsubnet(var.cidr, 4, i)]
          azs     = slice(data.aws_availability_zones.all.names, 0, 2)
          label   = module.child.label
          issuer  = module.child.issuer
          sizes   = merge({ a = 1 }, { b = 2 })
          text    = format("%s-%d", local.name, 3)
          maybe   = var.env == "prod" && true ? "yes" : "no"
        }
        module "child" {
          source = "../modules/child"
          name   = local.name
          size   = var.env == "prod" ? 2 : 1
        }
        """)
    )
    (tmp_path / "root/terraform.tfvars").write_text('prefix = "jung-"\nenv = "stage"\n')
    return instantiate(tmp_path / "root")


def test_locals_variables_and_functions(root) -> None:
    assert root.local("name") == "jung-stage"
    assert root.local("repos") == {"api": "jung-api"}
    assert root.local("subnets") == ["10.20.0.0/20", "10.20.16.0/20"]
    assert root.local("sizes") == {"a": 1, "b": 2}
    assert root.local("text") == "jung-stage-3"
    assert root.local("maybe") == "no"


def test_module_inputs_defaults_and_outputs(root) -> None:
    child = root.children["child"]
    assert child.variables == {"name": "jung-stage", "size": 1}
    assert child.local("replicated") is False
    assert root.local("label") == "jung-stage-single"


def test_a_module_call_may_read_a_sibling_declared_after_it(tmp_path: Path) -> None:
    """Terraform orders module calls by reference, not by position (edge reads media, media reads edge)."""
    (tmp_path / "modules/m").mkdir(parents=True)
    (tmp_path / "modules/m/main.tf").write_text(
        dedent("""
        variable "name" {}
        variable "peer" {
          default = null
        }
        resource "aws_s3_bucket" "this" {
          bucket = var.name
        }
        output "label" {
          value = "${var.name}-label"
        }
        output "peer" {
          value = var.peer
        }
        output "arn" {
          value = aws_s3_bucket.this.arn
        }
        """)
    )
    (tmp_path / "root").mkdir()
    (tmp_path / "root/main.tf").write_text(
        dedent("""
        module "first" {
          source = "../modules/m"
          name   = "first"
          peer   = module.second.label
        }
        module "second" {
          source = "../modules/m"
          name   = "second"
          peer   = module.first.arn
        }
        module "loop" {
          source = "../modules/m"
          name   = module.loop.label
        }
        """)
    )
    root = instantiate(tmp_path / "root")
    assert root.children["first"].variables["peer"] == "second-label"
    peer = root.children["second"].variables["peer"]
    assert isinstance(peer, Unknown) and peer.source == "m: aws_s3_bucket.this.arn"
    name = root.children["loop"].variables["name"]
    assert isinstance(name, Unknown) and "cycle" in name.source


def test_values_known_only_after_apply_keep_their_source(root) -> None:
    azs = root.local("azs")
    assert isinstance(azs, Unknown) and "data.aws_availability_zones.all.names" in azs.source
    issuer = root.local("issuer")
    assert isinstance(issuer, Unknown) and issuer.source == "child: aws_eks_cluster.this.identity.0.oidc.0.issuer"
    partial = root.template("jung-${each.key}", {})
    assert isinstance(partial, Unknown) and partial.prefix == "jung-"


def test_resource_instances_from_for_each_and_count(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        dedent("""
        variable "n" {
          default = 0
        }
        resource "aws_ecr_repository" "r" {
          for_each = toset(["b", "a"])
          name     = "jung-${each.key}"
        }
        resource "aws_eip" "off" {
          count = var.n
        }
        resource "aws_subnet" "later" {
          for_each = data.aws_availability_zones.all.names
        }
        """)
    )
    inst = instantiate(tmp_path)
    repo, off, later = inst.resources()
    assert [inst.attr(repo, "name", scope=s) for s in inst.scopes(repo)] == ["jung-a", "jung-b"]
    assert inst.scopes(off) == []
    assert isinstance(inst.scopes(later), Unknown)


def test_provider_region_follows_aliases_and_providers_maps(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m/main.tf").write_text(
        dedent("""
        resource "aws_wafv2_web_acl" "edge" {
          provider = aws.edge
        }
        resource "aws_s3_bucket" "home" {}
        resource "aws_acm_certificate" "own" {
          region = "eu-west-1"
        }
        """)
    )
    (tmp_path / "main.tf").write_text(
        dedent("""
        provider "aws" {
          region = "ap-northeast-1"
        }
        provider "aws" {
          alias  = "use1"
          region = "us-east-1"
        }
        module "m" {
          source    = "./m"
          providers = { aws = aws, aws.edge = aws.use1 }
        }
        """)
    )
    m = instantiate(tmp_path).children["m"]
    waf, bucket, cert = m.resources()
    assert (m.provider_region(waf), m.provider_region(bucket), m.provider_region(cert)) == (
        "us-east-1",
        "ap-northeast-1",
        "eu-west-1",
    )


def test_jsonencode_matches_terraform_and_leaves_unknowns_unknown(tmp_path: Path) -> None:
    """The add-on configuration checks decode what jsonencode gives, so it must be byte-for-byte Terraform's."""
    expression = '{ env = { B = "1", A = "<x>&" }, enableNetworkPolicy = "true", n = [1, 2.5, true, null] }'
    (tmp_path / "main.tf").write_text(
        dedent(f"""
        locals {{
          cni   = jsonencode({expression})
          back  = jsondecode(local.cni)
          later = jsonencode({{ host = aws_db_instance.this.address }})
        }}
        """)
    )
    inst = instantiate(tmp_path)
    empty = tmp_path / "console"  # terraform console needs no provider only in a root without resources
    empty.mkdir()
    console = subprocess.run(
        ["terraform", "console"], input=f"jsonencode({expression})\n", cwd=empty, capture_output=True, text=True, timeout=60
    )
    assert console.returncode == 0, console.stderr
    assert inst.local("cni") == json.loads(console.stdout.strip())  # terraform prints the string quoted, JSON-style
    assert inst.local("back")["env"] == {"A": "<x>&", "B": "1"}
    later = inst.local("later")
    assert isinstance(later, Unknown) and "jsonencode" in later.source
