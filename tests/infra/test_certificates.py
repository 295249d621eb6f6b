"""Every root's ACM certificate and validation records are its own (issue 8, defect 2).

Two upstream rules make shared names couple the environments:

- The AWS Load Balancer Controller, with no ``certificate-arn`` annotation, attaches *every*
  ISSUED certificate of its region one of whose names matches a TLS or rule host of the
  Ingress: kubernetes-sigs/aws-load-balancer-controller@v3.5.0 pkg/certs/cert_discovery.go
  (``Discover`` collects all matching ARNs per host; ``domainMatchesHost``: ``*.`` matches one
  label of the same depth, anything else only itself) and docs/guide/ingress/cert_discovery.md.
  With one apex + wildcard certificate per env, each env's ALB would carry every env's
  certificate, and ACM refuses to delete a certificate in use (``ResourceInUseException``,
  AWS ACM API DeleteCertificate), so ``kyeol destroy --env dev`` fails while stage runs.
- ACM gives a domain name the same DNS validation record for every certificate of the account
  (docs.aws.amazon.com/acm/latest/userguide/dns-validation.html), so roots certifying the same
  name co-own one Route 53 record and destroying one root deletes the others' record
  (hashicorp/terraform-provider-aws@v6.69.1 website/docs/r/route53_record.html.markdown,
  ``allow_overwrite``: the record is then adopted, not owned).

So: each env's certificate names exactly its own origin names (what its Ingress and ExternalDNS
use), no two roots certify or validate the same name, no root adopts another's record, and the
controller's discovery, modelled on cert_discovery.go, finds exactly the env's own certificate.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.support import APP, find, render
from tests.infra import conformance as c
from tests.infra.evaluate import Instance, Unknown, instantiate


@dataclass(frozen=True)
class Certificate:
    root: str  # "dev", "stage", "prod", "global"
    region: str
    names: frozenset[str]  # domain_name + SANs
    validation_names: frozenset[str]  # names the validation records are written for
    adopts_records: Any  # allow_overwrite of the validation records


def certificates(tree: Path) -> list[Certificate]:
    """Every modules/dns-acm certificate of the env roots and global/us-east-1, evaluated."""
    roots = {env: c.env_root(tree, env) for env in c.TARGET_ENVS} | {"global": tree / "global" / c.EDGE_REGION}
    out = []
    for name, path in roots.items():
        for inst in instantiate(path).walk():
            if inst.directory.name != "dns-acm":
                continue
            out.append(_certificate(name, inst))
    return out


def _certificate(root: str, inst: Instance) -> Certificate:
    names = [inst.local("domain_name"), *inst.local("sans")]
    validation = inst.local("validation_domains")
    assert not any(isinstance(v, Unknown) for v in [*names, validation]), (root, names, validation)
    record = next(b for b in inst.resources("aws_route53_record") if b.labels[1] == "validation")
    region = inst.variables.get("region") or c.REGION
    return Certificate(root, region, frozenset(names), frozenset(validation), inst.attr(record, "allow_overwrite", False))


def domain_matches_host(domain: str, host: str) -> bool:
    """cert_discovery.go ``domainMatchesHost``: ``*.x.y`` matches ``a.x.y`` (same depth), else equality."""
    if domain.startswith("*."):
        d, h = domain.split("."), host.split(".")
        return len(d) == len(h) and d[1:] == h[1:]
    return domain == host


def ingress_hosts(env: str) -> set[str]:
    """TLS hosts and rule hosts of the env's Ingresses: what the controller discovers certificates for."""
    hosts: set[str] = set()
    for ing in find(render(APP / "apps" / "saleor" / "overlays" / env), "Ingress"):
        spec = ing["spec"]
        hosts |= {h for t in spec.get("tls", []) for h in t.get("hosts", [])}
        hosts |= {r["host"] for r in spec.get("rules", []) if r.get("host")}
    return hosts


def discovered(env: str, certs: list[Certificate]) -> dict[str, set[str]]:
    """Host → roots whose certificate the controller in *env*'s region would attach for it."""
    return {
        h: {x.root for x in certs if x.region == c.REGION and any(domain_matches_host(n, h) for n in x.names)}
        for h in sorted(ingress_hosts(env))
    }


def problems(tree: Path) -> list[str]:
    certs = certificates(tree)
    found = []
    for root in [*c.TARGET_ENVS, "global"]:
        if sum(x.root == root for x in certs) != 1:
            found.append(f"{root}: {sum(x.root == root for x in certs)} modules/dns-acm certificates, expected 1")
    for a, b in itertools.combinations(certs, 2):
        if shared := sorted(a.names & b.names):
            found.append(f"{a.root} and {b.root} both certify {shared}")
        if shared := sorted(a.validation_names & b.validation_names):
            found.append(f"{a.root} and {b.root} both write the validation record of {shared}")
    for x in certs:
        if x.adopts_records is not False:
            found.append(
                f"{x.root}: validation records have allow_overwrite = {x.adopts_records!r}; a root must not "
                "adopt a record another root owns"
            )
    for env in c.TARGET_ENVS:
        for host, roots in discovered(env, certs).items():
            if roots != {env}:
                found.append(
                    f"{env}: the load balancer controller would attach the certificate(s) of {sorted(roots)} "
                    f"for {host}, expected only {env}'s"
                )
    return found


# --- The rule meets planted mistakes ----------------------------------------------------------------


def test_domain_matching_is_the_controllers() -> None:
    assert domain_matches_host("*.mgz-g2-u3.shop", "origin-dev.mgz-g2-u3.shop")
    assert not domain_matches_host("*.mgz-g2-u3.shop", "mgz-g2-u3.shop")
    assert not domain_matches_host("*.mgz-g2-u3.shop", "a.origin-dev.mgz-g2-u3.shop")
    assert domain_matches_host("origin-dev.mgz-g2-u3.shop", "origin-dev.mgz-g2-u3.shop")
    assert not domain_matches_host("origin.mgz-g2-u3.shop", "origin-dev.mgz-g2-u3.shop")


def test_a_shared_wildcard_certificate_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    main = tree / "modules/saleor-environment/main.tf"
    text = main.read_text()
    start = text.index('module "dns_acm" {')
    end = text.index("}\n", start) + 2
    main.write_text(text[:start] + 'module "dns_acm" {\n  source = "../dns-acm"\n\n  domain = var.domain\n}\n' + text[end:])
    found = problems(tree)
    assert "dev and stage both certify ['*.mgz-g2-u3.shop', 'mgz-g2-u3.shop']" in found
    assert "dev and global both write the validation record of ['mgz-g2-u3.shop']" in found
    assert (
        "dev: the load balancer controller would attach the certificate(s) of ['dev', 'prod', 'stage'] for "
        "origin-dev.mgz-g2-u3.shop, expected only dev's"
    ) in found


def test_adopting_another_roots_record_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    main = tree / "modules/dns-acm/main.tf"
    text = main.read_text()
    assert text.count("  ttl     = 60\n") == 1
    main.write_text(text.replace("  ttl     = 60\n", "  ttl     = 60\n  allow_overwrite = true\n"))
    found = problems(tree)
    assert found and all("allow_overwrite = True; a root must not adopt" in p for p in found), found


# --- The real tree ----------------------------------------------------------------------------------


def test_certificates_and_validation_records_are_disjoint(infra_tree: Path) -> None:
    assert problems(infra_tree) == []


@pytest.mark.parametrize("env", c.TARGET_ENVS)
def test_each_env_certifies_exactly_the_origin_names_its_ingress_uses(infra_tree: Path, env: str) -> None:
    (cert,) = [x for x in certificates(infra_tree) if x.root == env]
    assert cert.region == c.REGION
    assert set(cert.names) == ingress_hosts(env)
    assert not any(n.startswith("*.") for n in cert.names)
    assert discovered(env, certificates(infra_tree)) == {h: {env} for h in ingress_hosts(env)}
