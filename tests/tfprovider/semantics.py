"""Generic plan/apply/read semantics over a typed schema (no code per resource type).

Plan (``plan``): the proposed new state Terraform sends already merges prior values into
unset optional+computed attributes (Terraform's ``objchange.ProposedNew``); the stand-in then
makes every computed attribute that config leaves null *unknown* in an object being created,
keeps it (the prior value) otherwise, plans write-only attributes null, and derives
``tags_all`` from the provider's ``default_tags`` and the resource's ``tags``. Apply (``apply``)
replaces every unknown with a synthetic value of its type (``synthetic.py``). Read returns
the prior state unchanged (there is no world to drift).
"""

from __future__ import annotations

from typing import Any

from tests.tfprovider import derived, synthetic
from tests.tfprovider.schema import COMPUTED, WRITE_ONLY, attributes, blocks
from tests.tfprovider.values import UNKNOWN, Unknown, is_known


def _tags_all(ctx: synthetic.Context, tags: Any) -> Any:
    if isinstance(tags, Unknown) or (isinstance(tags, dict) and not is_known(tags)):
        return UNKNOWN
    return {**ctx.default_tags, **(tags or {})}


def plan_object(
    ctx: synthetic.Context,
    block: dict[str, Any],
    root: dict[str, Any],
    proposed: dict[str, Any],
    config: dict[str, Any] | None,
    creating: bool,
    top: bool = False,
) -> dict[str, Any]:
    out = dict(proposed)
    config = config or {}
    for name, (ty, flags) in attributes(block).items():
        if flags & WRITE_ONLY:
            out[name] = None
            continue
        if not flags & COMPUTED or config.get(name) is not None:
            continue
        if top and name == "tags_all":
            out[name] = _tags_all(ctx, proposed.get("tags"))
        elif top and name == "region" and ty == "string":
            out[name] = ctx.region  # aws 6: every resource defaults to the provider's region
        elif creating:
            out[name] = UNKNOWN
    for name, nb in blocks(block, root).items():
        value = proposed.get(name)
        cfg = config.get(name)
        child = nb.get("blk", {})
        if value is None or isinstance(value, Unknown) or _dynamic_wrapper(value):
            continue  # a dynamic wrapper is Terraform's own encoding: passed through as proposed
        if nb["n"] == "single":
            out[name] = plan_object(ctx, child, root, value, cfg if isinstance(cfg, dict) else None, creating)
            continue
        cfg_items = cfg if isinstance(cfg, list) else []
        planned = []
        for i, element in enumerate(value):
            if isinstance(element, Unknown):
                planned.append(element)
                continue
            element_cfg = cfg_items[i] if nb["n"] == "list" and i < len(cfg_items) else _matching(element, cfg_items, child)
            # an element is new when nothing computed in it came from a prior state
            element_creating = creating or _all_computed_null(element, child)
            planned.append(plan_object(ctx, child, root, element, element_cfg, element_creating))
        out[name] = planned
    return out


def _dynamic_wrapper(value: Any) -> bool:
    """cty's msgpack encoding of a dynamically typed value, [type JSON, value]: what a block
    holding a "dynamic" attribute arrives as (cty msgpack/marshal.go, marshalDynamic)."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes)


def _matching(element: dict[str, Any], candidates: list[Any], block: dict[str, Any]) -> dict[str, Any] | None:
    """The config element of a set element: the one equal on every non-computed attribute."""
    for cand in candidates:
        if isinstance(cand, dict) and all(
            cand.get(k) == element.get(k) for k, (_t, f) in attributes(block).items() if not f & COMPUTED
        ):
            return cand
    return None


def _all_computed_null(element: dict[str, Any], block: dict[str, Any]) -> bool:
    computed = [k for k, (_t, f) in attributes(block).items() if f & COMPUTED]
    return bool(computed) and all(element.get(k) is None for k in computed)


def plan(ctx: synthetic.Context, schema: dict[str, Any], prior: Any, proposed: Any, config: Any) -> Any:
    """The planned new state of a resource (None when it is being destroyed)."""
    if proposed is None:
        return None
    return plan_object(ctx, schema, schema, proposed, config, creating=prior is None, top=True)


def fill(
    ctx: synthetic.Context,
    block: dict[str, Any],
    root: dict[str, Any],
    obj: dict[str, Any],
    tf_type: str,
    seed: str,
    top: bool = False,
) -> dict[str, Any]:
    """*obj* with every unknown replaced by a synthetic value (recursively)."""
    out = dict(obj)
    seed = seed or synthetic.seed_of(obj)
    for name, (ty, _flags) in attributes(block).items():
        value = obj.get(name)
        if top and name == "tags_all" and isinstance(value, Unknown):
            out[name] = {**ctx.default_tags, **(obj.get("tags") or {})}
        elif isinstance(value, Unknown):
            out[name] = synthetic.value(ctx, ty, tf_type, name, obj, seed)
        elif not is_known(value):
            out[name] = _fill_value(ctx, ty, value, tf_type, name, obj, seed)
    for name, nb in blocks(block, root).items():
        value = obj.get(name)
        child = nb.get("blk", {})
        if isinstance(value, dict):
            out[name] = fill(ctx, child, root, value, tf_type, seed + name)
        elif isinstance(value, list) and not _dynamic_wrapper(value):
            out[name] = [
                fill(ctx, child, root, e, tf_type, f"{seed}{name}{i}") if isinstance(e, dict) else e for i, e in enumerate(value)
            ]
    return out


def _fill_value(ctx: synthetic.Context, ty: Any, value: Any, tf_type: str, name: str, obj: Any, seed: str) -> Any:
    if isinstance(value, Unknown):
        return synthetic.value(ctx, ty, tf_type, name, obj, seed)
    if isinstance(ty, list) and isinstance(value, list) and ty[0] in ("list", "set"):
        return [_fill_value(ctx, ty[1], v, tf_type, name, obj, f"{seed}{i}") for i, v in enumerate(value)]
    if isinstance(ty, list) and isinstance(value, dict) and ty[0] == "map":
        return {k: _fill_value(ctx, ty[1], v, tf_type, name, obj, seed + k) for k, v in value.items()}
    if isinstance(ty, list) and isinstance(value, dict) and ty[0] == "object":
        return {k: _fill_value(ctx, ty[1][k], v, tf_type, k, obj, seed + k) for k, v in value.items()}
    return value


def apply(ctx: synthetic.Context, schema: dict[str, Any], planned: Any, tf_type: str) -> Any:
    if planned is None:
        return None
    return fill(ctx, schema, schema, derived.derive(tf_type, ctx, planned), tf_type, "", top=True)


def read_data(
    ctx: synthetic.Context, schema: dict[str, Any], config: dict[str, Any], tf_type: str, canned: dict[str, Any]
) -> dict[str, Any]:
    """A data source's state: config, canned answers, then synthetic values for the rest."""
    state = dict(config)
    for name, value in canned.items():
        if state.get(name) is None:
            state[name] = value
    for name, (_ty, flags) in attributes(schema).items():
        if flags & COMPUTED and state.get(name) is None:
            state[name] = UNKNOWN
    return fill(ctx, schema, schema, state, tf_type, "", top=True)
