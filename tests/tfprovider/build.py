"""Build the provider stand-in into a folder: compiled protocol, served schema, TLS key pair,
a ``filesystem_mirror`` holding one launcher per provider, and a test-only CLI config.

``terraform init`` with ``TF_CLI_CONFIG_FILE`` pointing at ``terraformrc`` installs the
stand-in through the mirror (honouring the roots' ``= x.y.z`` pins and writing a lock file of
the launcher's hashes: work on copies that have no lock file of the real provider's).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.tfprovider import schema as schemas
from tests.tfprovider import tree as tree_scan

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@dataclass(frozen=True)
class Build:
    home: Path
    cli_config: Path
    served: dict[str, dict[str, list[str]]]  # provider -> kind -> types

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for running terraform with the stand-in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            TFPROVIDER_HOME=str(self.home),
        )
        env.update(extra)
        return env


def compile_protos(out: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc  # grpcio-tools; ships google/protobuf/*.proto

    include = Path(grpc_tools.__file__).parent / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    for proto in ("tfplugin6.proto", "grpc_controller.proto"):
        rc = protoc.main(
            [
                "protoc",
                f"-I{HERE / 'proto'}",
                f"-I{include}",
                f"--python_out={out}",
                f"--grpc_python_out={out}",
                str(HERE / "proto" / proto),
            ]
        )
        if rc != 0:
            raise RuntimeError(f"protoc failed on {proto} (exit {rc})")


def key_pair(home: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (home / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (home / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (home / "cert.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))


def _platform() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{platform.system().lower()}_{machine}"


def build(home: Path, tree: Path) -> Build:
    """Everything the stand-in needs, for the types *tree* uses."""
    home.mkdir(parents=True, exist_ok=True)
    compile_protos(home / "gen")
    key_pair(home)
    served: dict[str, dict[str, list[str]]] = {}
    mirror = home / "mirror"
    for provider, version in schemas.PROVIDERS.items():
        used = tree_scan.used_types(tree, provider)
        subset = schemas.subset(schemas.load_full(provider), used)
        (home / f"{provider}.schema.json").write_text(json.dumps(subset))
        served[provider] = {kind: sorted(subset[kind]) for kind in schemas.KINDS}
        folder = mirror / "registry.terraform.io" / "hashicorp" / provider / version / _platform()
        folder.mkdir(parents=True, exist_ok=True)
        launcher = folder / f"terraform-provider-{provider}_v{version}"
        launcher.write_text(
            "#!/bin/sh\n# kyeol's provider stand-in (tests/tfprovider), not the real provider.\n"
            f"export TFPROVIDER_HOME='{home}'\nexport PYTHONPATH='{REPO}'\n"
            f"exec '{sys.executable}' -m tests.tfprovider.server {provider}\n"
        )
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    cli_config = home / "terraformrc"
    cli_config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
        "}\n"
    )
    return Build(home=home, cli_config=cli_config, served=served)


if __name__ == "__main__":  # python -m tests.tfprovider.build DIR: build by hand to try terraform
    b = build(Path(sys.argv[1]).resolve(), REPO / "kyeol-infra-terraform")
    print(f"export TF_CLI_CONFIG_FILE={b.cli_config}")
