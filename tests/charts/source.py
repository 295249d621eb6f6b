"""Where the pinned upstream charts come from: a local mirror, or their real chart repositories.

``KYEOL_CHART_MIRROR`` names a folder laid out as ``<chart>-<version>/`` (the unpacked chart
sources; ``.ci/run`` points it at ``../shared/charts``). When it is set it is the only source,
so an offline CI never reaches for the network. Without it, the chart is pulled once with
Helm's own SDK (``helm_python.pull``, i.e. ``helm pull --repo URL --version V --untar``) into
``~/.cache/kyeol/charts/<chart>-<version>/`` (``KYEOL_CHART_CACHE`` moves it), outside the
repository. When neither works, :class:`ChartUnavailable` says how to provide the chart — the
tests fail with it, they never skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MIRROR_ENV = "KYEOL_CHART_MIRROR"
CACHE_ENV = "KYEOL_CHART_CACHE"
DEFAULT_CACHE = Path.home() / ".cache" / "kyeol" / "charts"


class ChartUnavailable(Exception):
    """The pinned chart is neither in the mirror nor obtainable from its repository."""


def folder_name(chart: str, version: str) -> str:
    return f"{chart}-{version}"


def _how_to(chart: str, version: str, repo: str) -> str:
    return (
        f"provide chart {chart} {version}: either set {MIRROR_ENV} to a folder holding its unpacked source as "
        f"{folder_name(chart, version)}/ (CI: .ci/run points it at ../shared/charts; after a chart bump the new "
        f"version must be added there), or let the tests pull it from {repo} (network to that repository needed; "
        f"cached in {os.environ.get(CACHE_ENV) or DEFAULT_CACHE})"
    )


def cache_root() -> Path:
    """The cache outside the repository (pulled charts, parsed manifests)."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def local_chart_dir(chart: str, version: str) -> Path | None:
    """The chart's source if the mirror or the cache has it (never pulls)."""
    mirror = os.environ.get(MIRROR_ENV)
    base = Path(mirror).expanduser().resolve() if mirror else Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()
    found = base / folder_name(chart, version)
    return found if (found / "Chart.yaml").is_file() else None


def chart_dir(chart: str, version: str, repo: str) -> Path:
    """The unpacked source of ``chart`` at exactly ``version`` (see the module docstring)."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        found = Path(mirror).expanduser().resolve() / folder_name(chart, version)
        if not (found / "Chart.yaml").is_file():
            raise ChartUnavailable(
                f"{MIRROR_ENV}={mirror} has no {folder_name(chart, version)}/Chart.yaml; " + _how_to(chart, version, repo)
            )
        return found
    cache = Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()
    target = cache / folder_name(chart, version)
    if (target / "Chart.yaml").is_file():
        return target
    return _pull(chart, version, repo, cache, target)


def _pull(chart: str, version: str, repo: str, cache: Path, target: Path) -> Path:
    import helm_python  # the 75 MB native library loads only when a pull is needed

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".pull-") as tmp:
        try:
            helm_python.pull(chart, repo_url=repo, version=version, destination=tmp, untar=True, untar_dir=tmp)
        except helm_python.HelmError as exc:
            raise ChartUnavailable(
                f"could not pull {chart} {version} from {repo}: {exc}; " + _how_to(chart, version, repo)
            ) from None
        unpacked = Path(tmp) / chart
        if not (unpacked / "Chart.yaml").is_file():
            raise ChartUnavailable(
                f"pulling {chart} {version} from {repo} left no {chart}/Chart.yaml; " + _how_to(chart, version, repo)
            )
        try:
            os.replace(unpacked, target)  # atomic: a concurrent pull of the same chart is harmless
        except OSError:
            if not (target / "Chart.yaml").is_file():
                raise
            shutil.rmtree(unpacked, ignore_errors=True)
    return target
