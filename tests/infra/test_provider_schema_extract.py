"""tools/provider_schema/extract.py on a miniature cdktn wheel built in the test.

The miniature has the shapes the real 70 MB package has (a resource, a data source, the
provider; list/set/single blocks, a struct-typed attribute, an opaque ``any`` block, a recursive
block, generator renames, split ``index-structs`` files), so each mapping rule of
provider-schema.md is pinned down; a second, damaged miniature proves the unnamed-property and
doc/JS-disagreement counters (which a test requires to be 0 in the committed file) can rise.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from tools.provider_schema import extract

A = "@cdktn/provider-aws"
LINK = "https://registry.terraform.io/providers/hashicorp/aws/6.69.1/docs"


def prop(
    name: str,
    anchor: str,
    ty: dict[str, Any],
    *,
    optional: bool = True,
    block: bool = False,
    page: str = "resources/thing",
    summary: str | None = None,
) -> dict[str, Any]:
    link = f"{{@link {LINK}/{page}#{anchor} Thing#{anchor}}}"
    docs = (
        {"summary": f"{anchor} block.", "remarks": f"Docs at Terraform Registry: {link}"}
        if block
        else {"summary": summary or f"Docs at Terraform Registry: {link}."}
    )
    return {"name": name, "docs": docs, "type": ty, **({"optional": True} if optional else {})}


def struct(name: str, props: list[dict[str, Any]], filename: str = "src/thing/index.ts") -> dict[str, Any]:
    return {
        "fqn": f"{A}.thing.{name}",
        "kind": "interface",
        "datatype": True,
        "name": name,
        "locationInModule": {"filename": filename},
        "properties": props,
    }


def cls(name: str, base: str, summary_link: str, config: str, filename: str = "src/thing/index.ts") -> dict[str, Any]:
    return {
        "fqn": f"{A}.thing.{name}",
        "kind": "class",
        "base": f"cdktn.{base}",
        "name": name,
        "docs": {"summary": f"Represents a {{@link {summary_link}}}."},
        "locationInModule": {"filename": filename},
        "initializer": {
            "parameters": [{"name": "scope"}, {"name": "id"}, {"name": "config", "type": {"fqn": f"{A}.thing.{config}"}}]
        },
    }


def list_of(name: str) -> dict[str, Any]:
    return {
        "union": {
            "types": [
                {"fqn": "cdktn.IResolvable"},
                {"collection": {"kind": "array", "elementtype": {"fqn": f"{A}.thing.{name}"}}},
            ]
        }
    }


def fqn(name: str) -> dict[str, Any]:
    return {"fqn": f"{A}.thing.{name}"}


STRING = {"primitive": "string"}


def js_row(key: str, value: str, is_block: bool, kind: str) -> str:
    return (
        f"        {key}: {{\n            value: {value},\n            isBlock: {str(is_block).lower()},\n"
        f'            type: "{kind}",\n            storageClassType: "x",\n        }},\n'
    )


def js_function(struct_name: str, rows: list[str]) -> str:
    fn = struct_name[0].lower() + struct_name[1:]
    return (
        f"function {fn}ToHclTerraform(struct) {{\n    if (!cdktn.canInspect(struct)) {{\n        return struct;\n    }}\n"
        f"    const attrs = {{\n{''.join(rows)}    }};\n    return attrs;\n}}\n"
    )


def js_class(name: str, base: str, rows: list[str], attrs: str = "") -> str:
    return (
        f'class {name} extends cdktn.{base} {{\n    static tfResourceType = "x";\n{attrs}'
        f"    synthesizeHclAttributes() {{\n        const attrs = {{\n{''.join(rows)}        }};\n        return attrs;\n    }}\n}}\n"
    )


def js_attr(name: str, flags: str, body: str) -> str:
    """One typed attribute of a generated class, as the cdktn generator writes it: the
    ``// name - computed: …`` comment, then a typed getter or a complex-value field."""
    c, o, r = (str(ch == "1").lower() for ch in flags)
    camel = name.split("_", maxsplit=1)[0] + "".join(w.title() for w in name.split("_")[1:])
    head = f"    // {name} - computed: {c}, optional: {o}, required: {r}\n"
    if body.startswith("new "):
        return head + f"    _{camel} = {body};\n    get {camel}() {{\n        return this._{camel};\n    }}\n"
    if body == "plain":
        return head + f"    _{camel};\n    get {camel}() {{\n        return this._{camel};\n    }}\n"
    return head + f"    get {camel}() {{\n        return {body};\n    }}\n"


def js_output_class(name: str, attrs: list[str]) -> str:
    return f"class {name} extends cdktn.ComplexObject {{\n{''.join(attrs)}}}\n"


def assembly(*, damaged: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """A jsii assembly and its JS files, modelled on the real package."""
    types = {}
    config = [
        prop("name", "name", STRING, optional=False),
        prop("selfAttribute", "self", {"union": {"types": [{"primitive": "boolean"}, {"fqn": "cdktn.IResolvable"}]}}),
        prop("fetchPasswordData", "get_password_data", STRING),
        prop(
            "ingress",
            "ingress",
            list_of("ThingIngress"),
            summary=f"Rules. {{@link {LINK}/resources/thing#ingress Thing#ingress}}",
        ),
        prop("vpcConfig", "vpc_config", fqn("ThingVpcConfig"), optional=False, block=True),
        prop("rule", "rule", list_of("ThingRule"), block=True),
        prop("timeouts", "timeouts", fqn("ThingTimeouts"), optional=False, block=True),
    ]
    if damaged:
        config.append({"name": "mystery", "docs": {"summary": "No link at all."}, "type": STRING, "optional": True})
    types[f"{A}.thing.ThingConfig"] = struct("ThingConfig", config)
    types[f"{A}.thing.ThingIngress"] = struct("ThingIngress", [prop("fromPort", "from_port", {"primitive": "number"})])
    types[f"{A}.thing.ThingVpcConfig"] = struct(
        "ThingVpcConfig",
        [prop("subnetIds", "subnet_ids", {"collection": {"kind": "array", "elementtype": STRING}}, optional=False)],
    )
    types[f"{A}.thing.ThingTimeouts"] = struct("ThingTimeouts", [prop("create", "create", STRING, optional=False)])
    types[f"{A}.thing.ThingRule"] = struct(
        "ThingRule",
        [
            prop("priority", "priority", {"primitive": "number"}, optional=False),
            prop("statement", "statement", {"primitive": "any"}, block=True),
            prop("inner", "inner", list_of("ThingRule"), block=True),
        ],
        filename="src/thing/index-structs/structs0.ts",
    )
    types[f"{A}.thing.Thing"] = cls("Thing", "TerraformResource", f"{LINK}/resources/thing aws_thing", "ThingConfig")
    types[f"{A}.thing.DataAwsThing"] = cls(
        "DataAwsThing", "TerraformDataSource", f"{LINK}/data-sources/thing aws_thing", "DataAwsThingConfig"
    )
    types[f"{A}.thing.DataAwsThingConfig"] = struct(
        "DataAwsThingConfig", [prop("name", "name", STRING, page="data-sources/thing")]
    )
    types[f"{A}.thing.AwsProvider"] = cls("AwsProvider", "TerraformProvider", f"{LINK} aws", "AwsProviderConfig")
    types[f"{A}.thing.AwsProviderConfig"] = struct("AwsProviderConfig", [prop("region", "region", STRING, page="")])

    ingress_is_block = "true" if damaged else "false"  # the damaged JS contradicts the docs
    index = "".join(
        [
            js_function("ThingIngress", [js_row("from_port", "cdktn.numberToHclTerraform(struct.fromPort)", False, "simple")]),
            js_function(
                "ThingVpcConfig",
                [js_row("subnet_ids", "cdktn.listMapperHcl(cdktn.stringToHclTerraform, false)(struct.subnetIds)", False, "set")],
            ),
            js_function("ThingTimeouts", [js_row("create", "cdktn.stringToHclTerraform(struct.create)", False, "simple")]),
            js_class(
                "Thing",
                "TerraformResource",
                [
                    js_row("name", "cdktn.stringToHclTerraform(this._name)", False, "simple"),
                    js_row("self", "cdktn.booleanToHclTerraform(this._selfAttribute)", False, "simple"),
                    js_row("get_password_data", "cdktn.stringToHclTerraform(this._fetchPasswordData)", False, "simple"),
                    js_row(
                        "ingress",
                        f"cdktn.listMapperHcl(thingIngressToHclTerraform, {ingress_is_block})(this._ingress.internalValue)",
                        True,
                        "set",
                    ),
                    js_row("vpc_config", "thingVpcConfigToHclTerraform(this._vpcConfig.internalValue)", True, "list"),
                    js_row("rule", "cdktn.listMapperHcl(thingRuleToHclTerraform, true)(this._rule.internalValue)", True, "set"),
                    js_row("timeouts", "thingTimeoutsToHclTerraform(this._timeouts.internalValue)", True, "struct"),
                ]
                + ([js_row("ghost", "cdktn.stringToHclTerraform(this._ghost)", False, "simple")] if damaged else []),
                "".join(
                    [
                        js_attr("arn", "100", "this.getStringAttribute('arn')"),
                        js_attr("get_password_data", "010", "this.getStringAttribute('get_password_data')"),
                        js_attr("identity", "100", 'new ThingIdentityList(this, "identity", false)'),
                        js_attr("ingress", "110", 'new ThingIngressList(this, "ingress", true)'),
                        js_attr("name", "001", "this.getStringAttribute('name')"),
                        js_attr("rule", "010", 'new ThingRuleList(this, "rule", true)'),
                        js_attr("self", "010", "this.getBooleanAttribute('self')"),
                        js_attr("tags_all", "100", 'new cdktn.StringMap(this, "tags_all")'),
                        js_attr("timeouts", "010", 'new ThingTimeoutsOutputReference(this, "timeouts")'),
                        js_attr("vpc_config", "001", 'new ThingVpcConfigOutputReference(this, "vpc_config")'),
                    ]
                ),
            ),
            js_output_class(
                "ThingIdentityOutputReference", [js_attr("oidc", "100", 'new ThingIdentityOidcList(this, "oidc", false)')]
            ),
            js_output_class("ThingIdentityOidcOutputReference", [js_attr("issuer", "100", "this.getStringAttribute('issuer')")]),
            js_output_class("ThingIngressOutputReference", [js_attr("from_port", "010", "this.getNumberAttribute('from_port')")]),
            js_output_class("ThingTimeoutsOutputReference", [js_attr("create", "010", "this.getStringAttribute('create')")]),
            js_output_class(
                "ThingVpcConfigOutputReference",
                [
                    js_attr("subnet_ids", "001", "cdktn.Fn.tolist(this.getListAttribute('subnet_ids'))"),
                    js_attr("vpc_id", "100", "this.getStringAttribute('vpc_id')"),
                ],
            ),
            js_class(
                "DataAwsThing",
                "TerraformDataSource",
                [js_row("name", "cdktn.stringToHclTerraform(this._name)", False, "simple")],
                js_attr("name", "010", "this.getStringAttribute('name')")
                + js_attr("names", "100", "this.getListAttribute('names')"),
            ),
            js_class(
                "AwsProvider",
                "TerraformProvider",
                [js_row("region", "cdktn.stringToHclTerraform(this._region)", False, "simple")],
                js_attr("region", "010", "plain"),
            ),
        ]
    )
    structs0 = js_function(
        "ThingRule",
        [
            js_row("priority", "cdktn.numberToHclTerraform(struct.priority)", False, "simple"),
            js_row("statement", "cdktn.anyToHclTerraform(struct.statement)", False, "simple"),
            js_row("inner", "cdktn.listMapperHcl(thingRuleToHclTerraform, true)(struct.inner)", True, "list"),
        ],
    ) + js_output_class(
        "ThingRuleOutputReference",
        [
            js_attr("inner", "010", 'new ThingRuleInnerList(this, "inner", false)'),
            js_attr("priority", "001", "this.getNumberAttribute('priority')"),
            js_attr("statement", "010", "this.interpolationForAttribute('statement')"),
        ],
    )
    doc = {"name": A, "version": "25.8.1", "types": types}
    return doc, {"package/lib/thing/index.js": index, "package/lib/thing/index-structs/structs0.js": structs0}


def make_wheel(path: Path, *, damaged: bool = False) -> Path:
    doc, js = assembly(damaged=damaged)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        for name, text in {"package/.jsii": json.dumps(doc), **js}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    wheel = path / "cdktn_provider_aws-25.8.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("cdktn_provider_aws/_jsii/provider-aws@25.8.1.jsii.tgz", tgz.getvalue())
    return wheel


def run(tmp_path: Path, *, damaged: bool = False) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "schema.json.gz"
    code = extract.main(["--wheel", str(make_wheel(tmp_path, damaged=damaged)), "--out", str(out)])
    return code, json.loads(gzip.decompress(out.read_bytes()))


def test_miniature_package_maps_exactly(tmp_path: Path) -> None:
    code, doc = run(tmp_path)
    assert code == 0
    thing = doc["resource"]["aws_thing"]
    assert thing["args"] == {
        "name": extract.REQUIRED,
        "self": 0,  # the doc anchor, not camel→snake "self_attribute"
        "get_password_data": 0,  # not "fetch_password_data"
        "ingress": extract.OBJECT,  # struct-typed attribute: block syntax tolerated
    }
    assert thing["blocks"]["vpc_config"] == {"nesting": "list", "min": 1, "max": 1, "args": {"subnet_ids": extract.REQUIRED}}
    # NestingSingle: Terraform never requires it, so the generator's required flag is dropped
    assert thing["blocks"]["timeouts"] == {"nesting": "single", "max": 1, "args": {"create": extract.REQUIRED}}
    rule = thing["blocks"]["rule"]
    assert (rule["nesting"], "min" in rule, "max" in rule) == ("set", False, False)
    assert rule["args"] == {"priority": extract.REQUIRED}
    assert rule["blocks"]["statement"] == {"nesting": "list", "opaque": True}
    assert rule["blocks"]["inner"] == {"nesting": "list", "ref": "rule"}  # recursive, from the split structs0.js
    assert doc["data"] == {"aws_thing": {"args": {"name": 0}}}
    assert doc["provider"] == {"args": {"region": 0}}
    meta = doc["metadata"]
    assert meta["provider_version"] == "6.69.1"
    assert meta["counts"] | {"block_attribute_cross_checks": None} == {
        "resource": 1,
        "data": 1,
        "ephemeral": 0,
        "properties": 14,
        "unnamed_properties": 0,
        "doc_js_disagreements": 0,
        "single_required_dropped": 1,
        "recursive_refs": 1,
        "block_attribute_cross_checks": None,
    }
    assert meta["counts"]["block_attribute_cross_checks"] == 4  # ingress, rule, inner, subnet_ids
    assert meta["opaque"] == ["aws_thing.rule.statement"]


def typed(tmp_path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress((tmp_path / "schema.typed.json.gz").read_bytes()))


def test_miniature_typed_schema_has_types_computed_attributes_and_nesting(tmp_path: Path) -> None:
    code, _doc = run(tmp_path)
    assert code == 0
    doc = typed(tmp_path)
    R, O, C = extract.typed.REQUIRED, extract.typed.OPTIONAL, extract.typed.COMPUTED
    thing = doc["resource"]["aws_thing"]
    assert thing["a"] == {
        "arn": ["string", C],  # computed-only: only the JS has it
        "get_password_data": ["string", O],
        "identity": [["list", ["object", {"oidc": ["list", ["object", {"issuer": "string"}]]}]], C],
        "ingress": [["set", ["object", {"from_port": "number"}]], O | C],  # wrapsSet=true: a set
        "name": ["string", R],
        "self": ["bool", O],
        "tags_all": [["map", "string"], C],
    }
    assert thing["b"]["vpc_config"] == {
        "n": "list",
        "min": 1,
        "max": 1,
        "blk": {"a": {"subnet_ids": [["set", "string"], R], "vpc_id": ["string", C]}},
    }
    assert thing["b"]["timeouts"] == {"n": "single", "max": 1, "blk": {"a": {"create": ["string", O]}}}
    rule = thing["b"]["rule"]
    assert (rule["n"], rule["blk"]["a"], rule["blk"]["b"]["inner"]) == (
        "set",
        {"priority": ["number", R]},
        {"n": "list", "ref": "rule"},
    )
    assert "statement" not in rule["blk"].get("b", {})  # opaque and no hand-written subset: refused
    assert doc["metadata"]["omitted_opaque"] == ["aws_thing.rule.statement"]
    assert doc["data"]["aws_thing"] == {"a": {"name": ["string", O], "names": [["list", "string"], C]}}
    assert doc["provider"] == {"a": {"region": ["string", O]}}
    assert doc["metadata"]["problem_count"] == 0


def test_output_is_deterministic(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    outs = [tmp_path / "a.json.gz", tmp_path / "b.json.gz"]
    for out in outs:
        assert extract.main(["--wheel", str(wheel), "--out", str(out)]) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_damaged_package_is_counted_and_fails(tmp_path: Path, capsys) -> None:
    code, doc = run(tmp_path, damaged=True)
    assert code == 1
    meta = doc["metadata"]
    assert meta["unnamed_properties"] == ["aws_thing.mystery"]
    assert sorted(meta["doc_js_disagreements"]) == [
        "aws_thing.ghost: in the JS table but not in the docs",
        "aws_thing.ingress: docs say attribute, JS listMapperHcl says block",
    ]
    assert "aws_thing.mystery" in capsys.readouterr().err
