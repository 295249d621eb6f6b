"""The schemas the stand-in serves: typed blocks (``tools/provider_schema/typed.py`` format)
turned into the protocol's ``Schema`` messages.

The aws schemas come from the committed typed extraction of the cdktn package (= aws 6.69.1).
No package carries hashicorp/tls, so its few types are written here from its documentation:
registry.terraform.io/providers/hashicorp/tls/4.4.1/docs (provider ``proxy`` block;
resources/private_key; ephemeral-resources/private_key, "Schema": algorithm required,
ecdsa_curve and rsa_bits optional, the key encodings read-only and the private ones sensitive).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

REQUIRED, OPTIONAL, COMPUTED, SENSITIVE, WRITE_ONLY = 1, 2, 4, 8, 16
REPO = Path(__file__).resolve().parents[2]
TYPED_SCHEMA = REPO / "tools" / "provider_schema" / "aws-6.69.1.typed.json.gz"

PROVIDERS = {"aws": "6.69.1", "tls": "4.4.1"}

_S, _N, _B = "string", "number", "bool"
_TLS_KEY_OUT = {
    "private_key_openssh": [_S, COMPUTED | SENSITIVE],
    "private_key_pem": [_S, COMPUTED | SENSITIVE],
    "private_key_pem_pkcs8": [_S, COMPUTED | SENSITIVE],
    "public_key_fingerprint_md5": [_S, COMPUTED],
    "public_key_fingerprint_sha256": [_S, COMPUTED],
    "public_key_openssh": [_S, COMPUTED],
    "public_key_pem": [_S, COMPUTED],
}
_TLS_KEY_IN = {"algorithm": [_S, REQUIRED], "ecdsa_curve": [_S, OPTIONAL | COMPUTED], "rsa_bits": [_N, OPTIONAL | COMPUTED]}
TLS_SCHEMA: dict[str, Any] = {
    "provider": {
        "b": {
            "proxy": {
                "n": "list",
                "max": 1,
                "blk": {
                    "a": {
                        "from_env": [_B, OPTIONAL],
                        "password": [_S, OPTIONAL | SENSITIVE],
                        "url": [_S, OPTIONAL],
                        "username": [_S, OPTIONAL],
                    }
                },
            }
        }
    },
    "resource": {"tls_private_key": {"a": {**_TLS_KEY_IN, **_TLS_KEY_OUT, "id": [_S, COMPUTED]}}},
    "data": {},
    "ephemeral": {"tls_private_key": {"a": {**_TLS_KEY_IN, **_TLS_KEY_OUT}}},
}
KINDS = ("resource", "data", "ephemeral")


def load_full(provider: str) -> dict[str, Any]:
    """Every type of *provider* in the typed format."""
    if provider == "tls":
        return TLS_SCHEMA
    with gzip.open(TYPED_SCHEMA, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def subset(full: dict[str, Any], used: dict[str, set[str]]) -> dict[str, Any]:
    """Only the types in *used* ({kind: {type}}); a used type missing from *full* is an error."""
    out: dict[str, Any] = {"provider": full["provider"]}
    for kind in KINDS:
        missing = sorted(used.get(kind, set()) - set(full[kind]))
        if missing:
            raise KeyError(f"{kind} types the tree uses but the schema lacks: {', '.join(missing)}")
        out[kind] = {t: full[kind][t] for t in sorted(used.get(kind, set()))}
    return out


def attributes(block: dict[str, Any]) -> dict[str, list[Any]]:
    return block.get("a", {})


def blocks(block: dict[str, Any], root: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Nested blocks, with recursive ``ref`` blocks resolved against *root*."""
    out = {}
    for name, nb in block.get("b", {}).items():
        if "ref" in nb and root is not None:
            target = root
            for part in nb["ref"].split("."):
                target = target["b"][part]["blk"]
            nb = {**nb, "blk": target}
        out[name] = nb
    return out


def to_proto(pb: Any, block: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A ``tfplugin6.Schema.Block`` message of a typed block."""
    root = root or block
    msg = pb.Schema.Block()
    for name, (ty, flags) in sorted(attributes(block).items()):
        msg.attributes.add(
            name=name,
            type=json.dumps(ty).encode(),
            required=bool(flags & REQUIRED),
            optional=bool(flags & OPTIONAL),
            computed=bool(flags & COMPUTED),
            sensitive=bool(flags & SENSITIVE),
            write_only=bool(flags & WRITE_ONLY),
        )
    nesting = {"single": pb.Schema.NestedBlock.SINGLE, "list": pb.Schema.NestedBlock.LIST, "set": pb.Schema.NestedBlock.SET}
    if depth < 8:
        for name, nb in sorted(blocks(block, root).items()):
            single = nb["n"] == "single"  # Terraform: MinItems and MaxItems must match (0) in NestingSingle mode
            child = msg.block_types.add(
                type_name=name,
                nesting=nesting[nb["n"]],
                min_items=0 if single else nb.get("min", 0),
                max_items=0 if single else nb.get("max", 0),
            )
            child.block.CopyFrom(to_proto(pb, nb.get("blk", {}), root, depth + 1))
    return msg
