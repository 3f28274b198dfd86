"""A schema-only Terraform provider, so that `terraform init/validate/test` run without the registry.

    stub_provider.py <schema.json>

Terraform starts it like any provider plugin (go-plugin handshake, gRPC, protocol 6; the PyPI
package `tf` does that part). It answers GetProviderSchema with the schema in <schema.json> (the
shape of `terraform providers schema -json`, see provider-schemas/) and accepts every
validation call: Terraform core itself checks configurations against the schema (unknown
arguments and blocks, missing required ones, types, block counts), which is what we want
checked. It can't plan or apply anything real; `terraform test` uses mock_provider blocks.

Runs in the venv that scripts/terraform/offline_check.py makes (package `tf` pinned there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tf import iface
from tf.gen import tfplugin_pb2 as pb
from tf.runner import run_provider
from tf.utils import Diagnostics

_BLOCK_NESTING = {
    "single": pb.Schema.NestedBlock.NestingMode.SINGLE,
    "group": pb.Schema.NestedBlock.NestingMode.GROUP,
    "list": pb.Schema.NestedBlock.NestingMode.LIST,
    "set": pb.Schema.NestedBlock.NestingMode.SET,
    "map": pb.Schema.NestedBlock.NestingMode.MAP,
}
_OBJECT_NESTING = {
    "single": pb.Schema.Object.NestingMode.SINGLE,
    "list": pb.Schema.Object.NestingMode.LIST,
    "set": pb.Schema.Object.NestingMode.SET,
    "map": pb.Schema.Object.NestingMode.MAP,
}


def _attribute(name: str, spec: dict[str, Any]) -> pb.Schema.Attribute:
    fields: dict[str, Any] = {
        "name": name,
        "description": spec.get("description", ""),
        "required": bool(spec.get("required")),
        "optional": bool(spec.get("optional")),
        "computed": bool(spec.get("computed")),
        "sensitive": bool(spec.get("sensitive")),
        "deprecated": bool(spec.get("deprecated")),
    }
    if "nested_type" in spec:
        nested = spec["nested_type"]
        fields["nested_type"] = pb.Schema.Object(
            attributes=[_attribute(n, a) for n, a in sorted(nested["attributes"].items())],
            nesting=_OBJECT_NESTING[nested["nesting_mode"]],
        )
    else:
        fields["type"] = json.dumps(spec["type"], separators=(",", ":")).encode()
    return pb.Schema.Attribute(**fields)


def _block(spec: dict[str, Any]) -> pb.Schema.Block:
    return pb.Schema.Block(
        attributes=[_attribute(n, a) for n, a in sorted(spec.get("attributes", {}).items())],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=name,
                block=_block(nested["block"]),
                nesting=_BLOCK_NESTING[nested["nesting_mode"]],
                min_items=nested.get("min_items", 0),
                max_items=nested.get("max_items", 0),
            )
            for name, nested in sorted(spec.get("block_types", {}).items())
        ],
    )


class _Schema:
    """What the `tf` framework asks a schema for: its protobuf form, and (unused here) its parts."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.version = spec.get("version", 0)
        self.attributes: list[Any] = []
        self.block_types: list[Any] = []

    def to_pb(self) -> pb.Schema:
        return pb.Schema(version=self.version, block=_block(self.spec["block"]))


def _kind(type_name: str, spec: dict[str, Any], base: type) -> type:
    """A resource or data source class of the `tf` framework for one schema entry."""

    def refuse(self: Any, ctx: Any, *args: Any) -> None:
        ctx.diagnostics.add_error(f"{type_name}: this is a schema-only stub provider; it can't plan or apply")

    return type(
        type_name,
        (base,),
        {
            "__init__": lambda self, provider: None,
            "get_name": classmethod(lambda cls: type_name),
            "get_schema": classmethod(lambda cls: _Schema(spec)),
            # Terraform core has already checked the configuration against the schema.
            "validate": lambda self, diags, name, config: None,
            "create": refuse,
            "read": refuse,
            "update": refuse,
            "delete": refuse,
        },
    )


class StubProvider(iface.Provider):
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.resources = [_kind(n, s, iface.Resource) for n, s in schema["resource_schemas"].items()]
        self.data_sources = [_kind(n, s, iface.DataSource) for n, s in schema["data_source_schemas"].items()]

    def get_model_prefix(self) -> str:
        return ""

    def full_name(self) -> str:
        return self.schema["provider_source"]

    def get_provider_schema(self, diags: Diagnostics) -> _Schema:
        return _Schema(self.schema["provider"])

    def validate_config(self, diags: Diagnostics, config: dict) -> None:
        return None

    def configure_provider(self, diags: Diagnostics, config: dict) -> None:
        return None

    def get_data_sources(self) -> list[type]:
        return self.data_sources

    def get_resources(self) -> list[type]:
        return self.resources


if __name__ == "__main__":
    run_provider(StubProvider(json.loads(Path(sys.argv[1]).read_text())), sys.argv[1:])
