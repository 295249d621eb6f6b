"""What helm makes of an ``upgrade --install`` argv: release, chart, namespace and the values.

Values as helm's CLI builds them (helm/helm@v4.2.3 ``pkg/cli/values/options.go``
``MergeValues``): each ``-f`` file merged over the previous ones (maps key by key, anything else
replaced), then every ``--set``/``--set-string`` parsed by Helm's own strvals parser (through
``helm_python``) into the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

VALUE_FLAGS = frozenset(
    {
        "-n",
        "--namespace",
        "-o",
        "--output",
        "--repo",
        "--version",
        "--timeout",
        "-f",
        "--values",
        "--set",
        "--set-string",
        "--kubeconfig",
        "--filter",
        "--template",
        "--kube-context",
    }
)


class ArgvError(Exception):
    """The argv is not one helm would accept (the message is helm's)."""


@dataclass(frozen=True)
class HelmArgs:
    positional: list[str]
    flags: dict[str, list[str]]

    @classmethod
    def parse(cls, argv: list[str]) -> HelmArgs:
        """helm-style flags: ``--flag value``, ``--flag=value``, repeated ``-f``/``--set``."""
        positional: list[str] = []
        flags: dict[str, list[str]] = {}
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg.startswith("-"):
                name, eq, value = arg.partition("=")
                if name in VALUE_FLAGS:
                    if not eq:
                        i += 1
                        if i >= len(argv):
                            raise ArgvError(f"flag needs an argument: {name}")
                        value = argv[i]
                    flags.setdefault(name, []).append(value)
                else:
                    flags.setdefault(name, []).append("true")
            else:
                positional.append(arg)
            i += 1
        return cls(positional, flags)

    def one(self, *names: str, default: str = "") -> str:
        for name in names:
            if name in self.flags:
                return self.flags[name][-1]
        return default

    def many(self, *names: str) -> list[str]:
        return [v for name in names for v in self.flags.get(name, [])]

    def has(self, name: str) -> bool:
        return name in self.flags

    def values(self) -> dict[str, Any]:
        """The user-supplied values helm computes from ``-f`` and ``--set[-string]`` (in that order)."""
        import helm_python  # loaded only by the commands that compute values (the helm stand-in's status needs none)

        from steps.adapters.helm import merge_values

        values: dict[str, Any] = {}
        for path in self.many("-f", "--values"):
            try:
                loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            except FileNotFoundError:
                raise ArgvError(f"open {path}: no such file or directory") from None
            values = merge_values(values, loaded)
        for name, parse in (("--set", helm_python.parse_set_string), ("--set-string", helm_python.parse_set_string_values)):
            for item in self.flags.get(name, []):
                try:
                    values = merge_values(values, parse(item))
                except helm_python.HelmError as exc:
                    raise ArgvError(f"failed parsing {name} data: {exc}") from None
        return values
