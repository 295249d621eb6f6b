"""Where charts come from: the mirror when KYEOL_CHART_MIRROR is set, else the cache, else a
pull from the chart's repository; neither → an error that says how to provide the chart."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from tests.charts import source


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/charts"


def _tiny_chart(folder: Path, name: str, version: str) -> None:
    folder.mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")


def test_the_mirror_is_used_and_is_the_only_source_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _tiny_chart(tmp_path / "mirror" / "demo-1.2.3", "demo", "1.2.3")
    monkeypatch.setenv(source.MIRROR_ENV, str(tmp_path / "mirror"))
    assert source.chart_dir("demo", "1.2.3", "https://unused.invalid") == (tmp_path / "mirror" / "demo-1.2.3").resolve()
    with pytest.raises(source.ChartUnavailable) as missing:
        source.chart_dir("demo", "1.2.4", "https://charts.example.org")
    text = str(missing.value)
    assert "demo-1.2.4/" in text and source.MIRROR_ENV in text and "https://charts.example.org" in text


def test_without_a_mirror_the_cache_outside_the_repository_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(source.MIRROR_ENV, raising=False)
    monkeypatch.setenv(source.CACHE_ENV, str(tmp_path / "cache"))
    _tiny_chart(tmp_path / "cache" / "demo-1.2.3", "demo", "1.2.3")
    assert source.chart_dir("demo", "1.2.3", _closed_port_url()) == tmp_path / "cache" / "demo-1.2.3"


def test_an_unreachable_repository_fails_with_how_to_provide_the_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(source.MIRROR_ENV, raising=False)
    monkeypatch.setenv(source.CACHE_ENV, str(tmp_path / "cache"))
    url = _closed_port_url()
    with pytest.raises(source.ChartUnavailable) as failed:
        source.chart_dir("demo", "9.9.9", url)
    text = str(failed.value)
    assert f"could not pull demo 9.9.9 from {url}" in text and source.MIRROR_ENV in text
    assert not (tmp_path / "cache" / "demo-9.9.9").exists()


def test_a_pull_lands_unpacked_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """helm_python.pull from a chart repository on loopback (an index.yaml and a packaged chart)."""
    import http.server
    import threading

    import helm_python

    repo = tmp_path / "repo"
    repo.mkdir()
    _tiny_chart(tmp_path / "src" / "demo", "demo", "1.2.3")
    helm_python.package(tmp_path / "src" / "demo", destination=repo)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(repo), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        helm_python.repo_index_generate(repo, base_url=url)
        monkeypatch.delenv(source.MIRROR_ENV, raising=False)
        monkeypatch.setenv(source.CACHE_ENV, str(tmp_path / "cache"))
        found = source.chart_dir("demo", "1.2.3", url)
    finally:
        server.shutdown()
    assert found == tmp_path / "cache" / "demo-1.2.3" and (found / "Chart.yaml").is_file()
    shutil.rmtree(repo)  # cached: no second pull needed
    assert source.chart_dir("demo", "1.2.3", url) == found
