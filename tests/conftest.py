"""Fixtures shared by every test: an empty Terraform CLI config, fake AWS credentials,
and a moto server on loopback (the real AWS APIs, in process)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# moto reads this when it is imported: set it before any test imports moto, so ACM
# certificates are issued at once instead of after 60 s.
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")


@pytest.fixture(autouse=True, scope="session")
def _terraform_cli_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The machines point TF_CLI_CONFIG_FILE at a missing file; give terraform a real one."""
    home = tmp_path_factory.mktemp("tfcli")
    cfg = home / "terraformrc"
    # Providers only from a mirror on loopback that answers nothing: a test that would
    # reach the public registry fails at once instead of sending traffic off the machine.
    cfg.write_text('provider_installation {\n  network_mirror {\n    url = "https://127.0.0.1:9/"\n  }\n}\n')
    os.environ["TF_CLI_CONFIG_FILE"] = str(cfg)
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    # Same for git: anything aimed at github.com goes to a closed loopback port.
    gitconfig = home / "gitconfig"
    gitconfig.write_text('[url "http://127.0.0.1:9/"]\n\tinsteadOf = https://github.com/\n')
    os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: fake credentials and a fixed region everywhere."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MOTO_ACM_VALIDATION_WAIT", "0")


@pytest.fixture(scope="session")
def moto_server():
    """A real moto server on 127.0.0.1 (random port); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto server, reset, with every AWS SDK call in this test pointed at it."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server
