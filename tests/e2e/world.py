"""The end-to-end world: everything `kyeol deploy --env dev` touches, real where it can be.

Real: the ``kyeol`` CLI itself (a subprocess, with only environment overrides), ``terraform``
on the miniature roots of ``tests/fixtures/infra`` (their seeds create the AWS resources), moto
for every AWS API, ``kubectl kustomize``, ``git ls-remote`` on a local bare repository, and an
HTTPS server with a trustme certificate for the public hosts.

Stand-ins (nothing real can run here): the Kubernetes API of MGMT and of DEV
(:mod:`tests.standins.fake_kube_api`, with Argo CD's controller and the controllers of
:mod:`tests.e2e.controllers` scripted on them), ``helm`` (:mod:`tests.standins.fake_helm`) and
GitHub's Actions API (:mod:`tests.standins.fake_github`, whose runs push the images into moto's
ECR as the real workflow pushes to ECR).

Every stand-in answers "ready" on the first look unless a test asks otherwise, because kyeol
polls at its real intervals (5-15 s) and the whole e2e suite has a few minutes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from runbook.clock import Clock
from steps.wiring.config import ADDONS, load_config
from tests.e2e.controllers import (
    AddonApplicationSets,
    ArgoCdFinalizesSaleor,
    ExternalDnsPublishes,
    LbcManagesAlb,
    LbcWebhookComesUp,
    SaleorSyncCreates,
    git_ingress,
)
from tests.fixtures.infra.world import copy_tree, tf_environ
from tests.standins.access_analyzer import AccessAnalyzerStandIn
from tests.standins.fake_github import FakeGitHub, RunScript
from tests.standins.fake_helm import FakeHelm
from tests.standins.fake_kube_api import SALEOR_MIGRATION_HOOKS, AppBehaviour, ArgoCdController, FakeKubeAPI
from tests.standins.saleor_site import SaleorSite

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "kyeol.toml"
DEV = load_config(CONFIG).env("dev")
STAGE = load_config(CONFIG).env("stage")
TOKEN = "ghp_e2eStandInTokenNotARealOne000000000"
STEP_IDS = (
    "bootstrap",
    "account",
    "global",
    "mgmt.registry",
    "mgmt.infra",
    "dev.infra",
    "argocd",
    "dev.register",
    "dev.addons",
    "dev.images",
    "dev.sync",
    "dev.verify",
)


def kyeol_command() -> list[str]:
    """The installed console script when there is one, else the module (same entry point)."""
    script = Path(sys.executable).parent / "kyeol"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "steps.wiring.cli"]


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=kyeol-e2e", "-c", "user.email=e2e@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@dataclass(repr=False)
class Result:
    """One finished kyeol invocation."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    def log(self) -> list[dict[str, Any]]:
        """kyeol's JSON log lines (stderr); other lines are skipped."""
        events = []
        for line in self.stderr.splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def __repr__(self) -> str:  # what a failed assertion shows; pytest keeps only its start
        errors = [
            line.strip()
            for line in (self.stdout + "\n" + self.stderr).splitlines()
            if line.strip().startswith(("error:", "hint:"))
        ]
        return (
            f"kyeol {' '.join(self.args)} -> {self.code} in {self.seconds:.1f}s: {' | '.join(errors)[:1500]}"
            f"\n--- stdout\n{self.stdout[-6000:]}\n--- stderr (last lines)\n{self.stderr[-6000:]}"
        )


class World:
    """One private world (trees, servers, state) and the kyeol CLI pointed at it."""

    def __init__(self, tmp: Path, moto: str, *, plugin_cache: Path | None = None, envs: tuple[str, ...] = ("dev",)) -> None:
        self.tmp = tmp
        self.moto = moto
        # dev always; more envs (``("dev", "stage")``) get their own Kubernetes API stand-in,
        # controllers and site on the same moto, MGMT and Argo CD (:meth:`_add_env`).
        self.envs = envs
        urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST")).read()
        self.infra = copy_tree(tmp / "infra")
        self.state = tmp / "state.json"
        self.runs = tmp / "runs"
        self.seed_log = tmp / "seed.jsonl"
        self.seed_log.write_text("")
        self._closers: list[Callable[[], None]] = []
        try:
            self._build(tmp, moto, plugin_cache)
        except BaseException:
            self.close()
            raise

    def _build(self, tmp: Path, moto: str, plugin_cache: Path | None) -> None:
        # Kubernetes: MGMT (Argo CD) and DEV, their API endpoints given to Terraform per root.
        self.mgmt = FakeKubeAPI(name="jung-mgmt-eks", clock=Clock()).start()
        self.dev = FakeKubeAPI(name=DEV.cluster_name, clock=Clock()).start()
        self._closers += [self.mgmt.stop, self.dev.stop]
        for root, api in (("envs/mgmt", self.mgmt), ("envs/dev", self.dev)):
            (self.infra / root / "e2e.auto.tfvars").write_text(
                f'# the Kubernetes API stand-in this cluster answers on\ncluster_endpoint = "{api.url}"\n'
                f'cluster_ca_data  = "{api.ca_data}"\n'
            )
        self.helm = FakeHelm(tmp / "helm")

        # Git: the revision Argo CD must reach, behind the https URL of kyeol.toml.
        work = tmp / "gitops-work"
        work.mkdir()
        git("init", "-q", "-b", "main", cwd=work)
        git("commit", "-q", "--allow-empty", "-m", "saleor 3.23", cwd=work)
        self.git_work = work
        self.git_bare = tmp / "gitops.git"
        git("clone", "-q", "--bare", str(work), str(self.git_bare), cwd=tmp)
        git("remote", "add", "origin", str(self.git_bare), cwd=work)
        self.revision = git("rev-parse", "HEAD", cwd=work)
        self.gitconfig = tmp / "gitconfig"
        self.gitconfig.write_text(
            f'[url "file://{self.git_bare}"]\n\tinsteadOf = {load_config(CONFIG).git_repo_url}\n'
            '[url "http://127.0.0.1:9/"]\n\tinsteadOf = https://github.com/\n'
        )

        # Argo CD on MGMT: the add-on ApplicationSets and the application controller.
        self.argo = ArgoCdController(
            revision=self.revision,
            default=AppBehaviour(converge_after_reads=0),
            behaviours={DEV.argocd_app_name: self.saleor_behaviour()},
        )
        self.mgmt.add_controller(AddonApplicationSets(addon_children(), self.argo))
        self.mgmt.add_controller(self.argo)
        self.mgmt.add_controller(LbcWebhookComesUp(self.dev))
        self.saleor_sync = SaleorSyncCreates(self.dev, git_ingress(ROOT / "kyeol-app-gitops/apps/saleor/overlays/dev"))
        self.mgmt.add_controller(self.saleor_sync)
        # What `kyeol destroy` meets: Argo CD's resources finalizer and the LB controller's ALB.
        self.mgmt.add_controller(ArgoCdFinalizesSaleor(self.dev, self.argo))
        self.lbc = LbcManagesAlb(self.dev, moto)
        self.mgmt.add_controller(self.lbc)
        self.external_dns = ExternalDnsPublishes(moto, self.mgmt, self.dev, env=DEV.name)
        self.dev.add_controller(self.external_dns)
        self.mgmt.add_controller(self.external_dns)  # it keeps running while kyeol drains through MGMT

        # GitHub Actions: a dispatched run succeeds and pushes the images it was asked for.
        self.github = FakeGitHub(token=TOKEN, repository="kyeol/kyeol", dispatch_mode="details").__enter__()
        self._closers.append(lambda: self.github.__exit__(None, None, None))
        self.github.default_script = self.run_script()

        # The public site behind CloudFront, with a certificate for both hosts from a test CA.
        self.ca = trustme.CA()
        self.ca_bundle = tmp / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_bundle))
        self.site = self.serve(self.ca.issue_cert(DEV.service_host, DEV.api_host))
        # Per env (dev's are the attributes above): its cluster API, controllers and site.
        self.apis: dict[str, FakeKubeAPI] = {"dev": self.dev}
        self.sites: dict[str, SaleorSite] = {"dev": self.site}
        self.lbcs: dict[str, LbcManagesAlb] = {"dev": self.lbc}
        self.syncs: dict[str, SaleorSyncCreates] = {"dev": self.saleor_sync}
        for name in self.envs:
            if name != "dev":
                self._add_env(name)

        # IAM Access Analyzer, which moto lacks (the account step looks for an existing analyzer).
        self.access_analyzer = AccessAnalyzerStandIn().start()
        self._closers.append(self.access_analyzer.stop)

        self.environ = tf_environ(moto)
        self.environ.update(self.helm.env())
        self.environ["AWS_ENDPOINT_URL_ACCESSANALYZER"] = self.access_analyzer.url
        self.environ.update(
            GITHUB_TOKEN=TOKEN,
            KYEOL_GITHUB_API_URL=self.github.url,
            KYEOL_VERIFY_RESOLVE=",".join(site.resolve_override() for site in self.sites.values()),
            KYEOL_VERIFY_CA_BUNDLE=str(self.ca_bundle),
            GIT_CONFIG_GLOBAL=str(self.gitconfig),
            GIT_TERMINAL_PROMPT="0",
            SEED_LOG=str(self.seed_log),
            # A lock left by a killed run is found out after this wait (production: 5 minutes).
            KYEOL_TF_LOCK_TIMEOUT="6",
        )
        if plugin_cache is not None:
            self.environ["TF_PLUGIN_CACHE_DIR"] = str(plugin_cache)
        for name in (
            "KYEOL_STATE",
            "KYEOL_CONFIG",
            "KYEOL_RUNS_DIR",
            "SEED_SLOW",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_REGION",
            "GH_TOKEN",
        ):
            self.environ.pop(name, None)

    def _add_env(self, name: str) -> None:
        """Another env beside dev (stage): a second Kubernetes API stand-in, given to its
        fixture root; its Saleor Application on MGMT's Argo CD; its add-on ApplicationSets, LB
        controller, ExternalDNS and Argo CD finalizer; a site serving its two hosts."""
        cfg = load_config(CONFIG).env(name)
        api = FakeKubeAPI(name=cfg.cluster_name, clock=Clock()).start()
        self._closers.append(api.stop)
        (self.infra / f"envs/{name}" / "e2e.auto.tfvars").write_text(
            f'# the Kubernetes API stand-in this cluster answers on\ncluster_endpoint = "{api.url}"\n'
            f'cluster_ca_data  = "{api.ca_data}"\n'
        )
        self.apis[name] = api
        self.argo.behaviours[cfg.argocd_app_name] = self.saleor_behaviour()
        app = cfg.argocd_app_name
        self.mgmt.add_controller(AddonApplicationSets(addon_children(name), self.argo, secret=f"cluster-{cfg.cluster_name}"))
        self.mgmt.add_controller(LbcWebhookComesUp(api, application=f"aws-load-balancer-controller-{name}"))
        self.syncs[name] = SaleorSyncCreates(
            api, git_ingress(ROOT / f"kyeol-app-gitops/apps/saleor/overlays/{name}"), application=app
        )
        self.mgmt.add_controller(self.syncs[name])
        self.mgmt.add_controller(ArgoCdFinalizesSaleor(api, self.argo, application=app))
        self.lbcs[name] = LbcManagesAlb(api, self.moto, cluster_name=cfg.cluster_name, name=f"k8s-saleor-saleor-{name}01234")
        self.mgmt.add_controller(self.lbcs[name])
        external_dns = ExternalDnsPublishes(self.moto, self.mgmt, api, env=name)
        api.add_controller(external_dns)
        self.mgmt.add_controller(external_dns)
        self.sites[name] = self.serve(self.ca.issue_cert(cfg.service_host, cfg.api_host), cfg)

    # -- scripting ---------------------------------------------------------------------------

    @staticmethod
    def saleor_behaviour(**kw: Any) -> AppBehaviour:
        """saleor-dev syncs only when asked (kyeol sets the operation) and runs its migration hook."""
        return AppBehaviour(
            **{"auto_sync": False, "hooks": SALEOR_MIGRATION_HOOKS, "converge_after_reads": 0, "instant_operations": True, **kw}
        )

    def run_script(self, **kw: Any) -> RunScript:
        """A run of images.yml that succeeds at once and pushes the requested tags to ECR."""
        return RunScript(**{"statuses": ("completed",), "on_success": self.push_images, "listed_after": 0, **kw})

    def push_images(self, inputs: dict[str, str]) -> None:
        """What images.yml's build jobs do: push ``image=tag`` pairs to MGMT's ECR."""
        import boto3

        ecr = boto3.client("ecr", region_name=DEV.region, endpoint_url=self.moto)
        for pair in inputs["tags"].split(","):
            image, tag = pair.split("=")
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"digest": "sha256:" + "0" * 64, "size": 1, "mediaType": "application/vnd.oci.image.config.v1+json"},
                "layers": [],
                "annotations": {"org.opencontainers.image.ref.name": f"{image}:{tag}"},
            }
            ecr.put_image(repositoryName=f"{DEV.prefix}{image}", imageManifest=json.dumps(manifest), imageTag=tag)

    def serve(self, cert: trustme.LeafCert, env: Any = DEV) -> SaleorSite:
        site = SaleorSite(cert, storefront_host=env.service_host, api_host=env.api_host).__enter__()
        self._closers.append(lambda: site.__exit__(None, None, None))
        return site

    # -- running kyeol ---------------------------------------------------------------------

    def common(self, command: str) -> list[str]:
        """The options every run command gets: this world's state, reports, config and trees."""
        args = ["--state", str(self.state), "--config", str(CONFIG), "--log-format", "json"]
        if command in ("deploy", "resume", "destroy"):
            args += ["--runs-dir", str(self.runs), "--infra-repo", str(self.infra)]
        return args

    def argv(self, command: str, *args: str) -> list[str]:
        extra = self.common(command) if command in ("deploy", "resume", "destroy") else []
        if command == "status":
            extra = ["--state", str(self.state)]
        if command == "verify":
            extra = ["--config", str(CONFIG), "--log-format", "json"]
        return [*kyeol_command(), command, *args, *extra]

    def env(self, **overrides: str | None) -> dict[str, str]:
        environ = dict(self.environ)
        for key, value in overrides.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        return environ

    def kyeol(self, command: str, *args: str, timeout: float = 240.0, **env: str | None) -> Result:
        argv = self.argv(command, *args)
        started = time.monotonic()
        done = subprocess.run(argv, cwd=self.tmp, env=self.env(**env), capture_output=True, text=True, timeout=timeout)
        return Result((command, *args), done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def start(self, command: str, *args: str, **env: str | None) -> Running:
        """Start kyeol in the background (its own process group, output to files)."""
        stem = f"{command}-{time.monotonic_ns()}"
        out, err = self.tmp / f"{stem}.out", self.tmp / f"{stem}.err"
        proc = subprocess.Popen(
            self.argv(command, *args),
            cwd=self.tmp,
            env=self.env(**env),
            stdout=out.open("w"),
            stderr=err.open("w"),
            start_new_session=True,
        )
        return Running(proc, out, err, (command, *args))

    def run_imports(self, stopped: Result | None = None) -> list[str]:
        """What an operator does when kyeol stops naming `terraform import` commands (a kill cut
        an apply short after it made resources its state does not hold): run them, with any
        id placeholder filled in (the fixture roots' resources are built-ins that take any id)."""
        hints = [
            ((rec.get("error") or {}).get("hint") or "")
            for rec in self.state_doc()["steps"].values()
            if rec.get("status") == "failed"
        ]
        hint = next((h for h in hints if "terraform -chdir=" in h and " import " in h), "")
        commands = [c.strip() for c in re.findall(r"(terraform -chdir=\S+ import .*?)(?=; terraform -chdir=|$| \(<id>)", hint)]
        for command in commands:
            argv = shlex.split(command.replace("<id>", "imported"))
            done = subprocess.run(argv, cwd=self.tmp, env=self.env(), capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 or "Resource already managed" in done.stderr, (command, done.stderr[-2000:])
        return commands

    # -- reading the world -----------------------------------------------------------------

    def state_doc(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())

    def status_of(self, step_id: str) -> str | None:
        try:
            doc = self.state_doc()
        except (OSError, ValueError):
            return None
        return ((doc.get("steps") or {}).get(step_id) or {}).get("status")

    def seeds(self, event: str = "created") -> list[str]:
        """What the Terraform seeds created (or started), in order."""
        return [e["what"] for e in map(json.loads, self.seed_log.read_text().splitlines()) if e["event"] == event]

    def reports(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.runs.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)]

    def kube_writes(self) -> list[tuple[str, str, str]]:
        """Every request that could change either cluster: (cluster, method, path)."""
        return [
            (api.name, r.method, r.path) for api in (self.mgmt, *self.apis.values()) for r in api.requests if r.method != "GET"
        ]

    def close(self) -> None:
        for close in reversed(self._closers):
            close()


@dataclass
class Running:
    """A kyeol process started in the background."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    args: tuple[str, ...]

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(f"kyeol ended ({self.proc.returncode}) before {what}:\n{self.result()}")
            if time.monotonic() > end:
                self.kill()
                raise AssertionError(f"timed out waiting for {what}:\n{self.result()}")
            time.sleep(0.05)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to kyeol only (the programs it started stay, as after a crash)."""
        os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def wait(self, timeout: float = 120.0) -> int:
        return self.proc.wait(timeout=timeout)

    def result(self) -> Result:
        code = self.proc.poll()
        return Result(self.args, -1 if code is None else code, self.out.read_text(), self.err.read_text(), 0.0)


def addon_children(env: str = "dev") -> list[dict[str, Any]]:
    """The Applications the add-on ApplicationSets make from the cluster Secret of ``env``."""
    return [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": f"{addon}-{env}",
                "namespace": "argocd",
                "labels": {"kyeol.io/env": env, "kyeol.io/addon": addon},
            },
            "spec": {"project": "platform", "destination": {"name": f"jung-{env}-eks"}, "source": {"targetRevision": "main"}},
        }
        for addon in ADDONS
    ]
