"""Extract the schemas of the provider resources our Terraform uses, from PyPI's CDKTF bindings.

The Terraform registry is out of reach here, so `terraform providers schema -json` can't run.
The CDKTF binding packages on PyPI (`cdktf-cdktf-provider-<name>`) are generated from that same
schema and ship it in two forms: the jsii assembly (`.jsii`: which arguments are required) and
the generated JavaScript (exact Terraform names, block vs. attribute, list vs. set, nesting, and
the computed-only attributes behind each getter). This script reads both and writes, for each
provider, a JSON file in the shape of `terraform providers schema -json`, restricted to the
resource and data source types `terraform/*.tf` uses. Run it again after adding a resource type:

    python3 scripts/terraform/extract_provider_schemas.py

It downloads each wheel (`pip download --no-deps`, about 50 MB for google) into a temporary
folder and deletes it afterwards. The DT provider has no such package: `dt.json` is written by
hand from the provider's source and is not touched here.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "terraform"
OUTPUT = Path(__file__).resolve().parent / "provider-schemas"


@dataclass(frozen=True)
class Binding:
    """A provider and the PyPI package its schema is read from."""

    local_name: str  # the provider's name in terraform (resource type prefix)
    source: str  # registry address
    package: str  # PyPI package
    package_version: str
    assembly: str  # jsii assembly name


BINDINGS = (
    Binding(
        "google",
        "registry.terraform.io/hashicorp/google",
        "cdktf-cdktf-provider-google",
        "16.12.1",
        "@cdktf/provider-google",
    ),
    Binding(
        "google-beta",
        "registry.terraform.io/hashicorp/google-beta",
        "cdktf-cdktf-provider-google-beta",
        "16.12.1",
        "@cdktf/provider-google-beta",
    ),
    Binding(
        "random",
        "registry.terraform.io/hashicorp/random",
        "cdktf-cdktf-provider-random",
        "12.0.1",
        "@cdktf/provider-random",
    ),
    Binding(
        "archive",
        "registry.terraform.io/hashicorp/archive",
        "cdktf-cdktf-provider-archive",
        "11.0.1",
        "@cdktf/provider-archive",
    ),
)

# The jsii and the JavaScript don't say which attributes are sensitive; these are, per the
# providers' documentation. Sensitivity matters: Terraform refuses an output that would show one.
SENSITIVE = {
    ("random_password", "result"),
    ("random_password", "bcrypt_hash"),
    ("google_secret_manager_secret_version", "secret_data"),
}

_SIMPLE = {"string": "string", "number": "number", "boolean": "bool"}
_GETTER_TYPES = {
    "String": "string",
    "Number": "number",
    "Boolean": "bool",
    "List": ["list", "string"],
    "NumberList": ["list", "number"],
    "BooleanList": ["list", "bool"],
    "StringMap": ["map", "string"],
    "NumberMap": ["map", "number"],
    "BooleanMap": ["map", "bool"],
}
_MAP_CLASSES = {
    "StringMap": ["map", "string"],
    "NumberMap": ["map", "number"],
    "BooleanMap": ["map", "bool"],
    "AnyMap": ["map", "dynamic"],
}


def used_types(module: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Resource and data source types in `module`, by provider local name (the `provider =` meta-argument
    or the type's prefix)."""
    resources: dict[str, set[str]] = {}
    data_sources: dict[str, set[str]] = {}
    block = re.compile(r'^(resource|data)\s+"([a-z0-9_]+)"\s+"[^"]+"\s*\{(.*?)^\}', re.M | re.S)
    for path in sorted(module.glob("*.tf")):
        for kind, type_name, body in block.findall(path.read_text()):
            explicit = re.search(r"^\s*provider\s*=\s*([a-z0-9-]+)", body, re.M)
            provider = explicit.group(1) if explicit else type_name.split("_", 1)[0]
            (resources if kind == "resource" else data_sources).setdefault(provider, set()).add(type_name)
    return resources, data_sources


class Package:
    """One CDKTF binding package: its jsii types and its generated JavaScript."""

    def __init__(self, binding: Binding, wheel: Path) -> None:
        self.binding = binding
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
            tgz = archive.read(member)
        self.files: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
            for info in tar:
                if info.isfile() and (info.name == "package/.jsii" or info.name.endswith("/index.js")):
                    data = tar.extractfile(info)
                    assert data is not None
                    self.files[info.name] = data.read().decode()
        self.jsii = json.loads(self.files.pop("package/.jsii"))["types"]
        self.version = re.search(r"providerVersion: '([0-9.]+)'", next(iter(self.files.values()))).group(1)

    def module_of(self, kind: str, type_name: str) -> tuple[str, str]:
        """(JavaScript source, class name) of the CDKTF class of a `kind` (Resource, DataSource or
        Provider) named `type_name`."""
        if not hasattr(self, "_index"):
            self._index: dict[tuple[str, str], tuple[str, str]] = {}
            pattern = re.compile(r'^(\w+)\.tfResourceType = "([\w-]+)";', re.M)
            for source in self.files.values():
                for class_name, found_type in pattern.findall(source):
                    found_kind = re.search(
                        rf"^class {class_name} extends cdktf\.Terraform(\w+) ", source, re.M
                    )
                    self._index[(found_kind.group(1), found_type)] = (source, class_name)
        if (kind, type_name) not in self._index:
            raise SystemExit(f"{self.binding.package}: no {kind} {type_name}")
        return self._index[(kind, type_name)]

    def jsii_struct(self, class_name: str, struct_name: str) -> dict | None:
        """The jsii struct `struct_name` in the namespace of `class_name`."""
        for fqn, spec in self.jsii.items():
            if spec.get("name") == class_name and fqn.startswith(self.binding.assembly + "."):
                namespace = fqn.rsplit(".", 1)[0]
                return self.jsii.get(f"{namespace}.{struct_name}")
        return None


def chunks(source: str) -> dict[str, str]:
    """Top-level `class X` and `function x` bodies of a generated module, by name."""
    starts = [(m.start(), m.group(2)) for m in re.finditer(r"^(class|function) (\w+)", source, re.M)]
    result = {}
    for (start, name), (end, _) in zip(starts, [*starts[1:], (len(source), "")], strict=True):
        result[name] = source[start:end]
    return result


_ATTR = re.compile(
    r'^\s+"?(\w+)"?: \{\n\s+value: .*?,\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n'
    r'\s+storageClassType: "(\w+)",\n\s+\},?$',
    re.M | re.S,
)
_GETTER = re.compile(r"get (\w+)\(\) \{\n\s+return this\.get(\w+)Attribute\('(\w+)'\);", re.M)
_FIELD = re.compile(r'this\._\w+ = new ([\w.]+)\(this, "(\w+)"(?:, (true|false))?\);')


def hcl_attrs(chunk: str) -> list[tuple[str, bool, str, str]]:
    body = chunk.split("const attrs = {", 1)
    if len(body) == 1:
        return []
    return [(n, b == "true", t, s) for n, b, t, s in _ATTR.findall(body[1].split("\n    };", 1)[0] + "\n")]


def lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


class Extractor:
    def __init__(self, package: Package, kind: str, type_name: str) -> None:
        self.package = package
        self.kind = kind
        self.type_name = type_name
        source, self.class_name = package.module_of(kind, type_name)
        self.chunks = chunks(source)

    def schema(self) -> dict:
        config = self.package.jsii_struct(self.class_name, self.class_name + "Config")
        resource_chunk = self.chunks[self.class_name]
        synth = resource_chunk.split("synthesizeHclAttributes()", 1)[1]
        block = self.block(hcl_attrs(synth), config, resource_chunk, top_level=True)
        if self.kind == "Provider":
            block["attributes"].pop("alias", None)  # a meta-argument in Terraform, a property in CDKTF
        return {"version": 0, "block": block}

    def block(
        self, attrs: list, struct: dict | None, reference_chunk: str | None, top_level: bool = False
    ) -> dict:
        properties = {}
        for prop in (struct or {}).get("properties", []):
            remarks = prop.get("docs", {}).get("remarks", "")
            anchor = re.search(r"#(\w+) \w+#\1\}", remarks)
            properties[anchor.group(1) if anchor else prop["name"]] = prop
        block: dict = {"attributes": {}, "block_types": {}}
        for name, is_block, kind, storage in attrs:
            prop = properties.get(name)
            required = prop is not None and not prop.get("optional", False)
            if is_block:
                block["block_types"][name] = self.nested_block(name, kind, storage, prop, required)
                continue
            attribute: dict = {"type": self.attribute_type(kind, storage)}
            attribute["required" if required else "optional"] = True
            if name == "id" and top_level:
                attribute["computed"] = True
            if (self.type_name, name) in SENSITIVE:
                attribute["sensitive"] = True
            block["attributes"][name] = attribute
        known = {a[0] for a in attrs}
        for name, attribute_type in self.computed(reference_chunk or "").items():
            if name not in known:
                block["attributes"][name] = {"type": attribute_type, "computed": True}
                if (self.type_name, name) in SENSITIVE:
                    block["attributes"][name]["sensitive"] = True
        for key in ("attributes", "block_types"):
            block[key] = dict(sorted(block[key].items()))
        return block

    def nested_block(self, name: str, kind: str, storage: str, prop: dict | None, required: bool) -> dict:
        struct_name = (
            storage[: -len("List")] if kind in ("list", "set") and storage.endswith("List") else storage
        )
        function = self.chunks.get(lower_first(struct_name) + "ToHclTerraform", "")
        struct = self.package.jsii_struct(self.class_name, struct_name)
        reference = self.chunks.get(struct_name + "OutputReference")
        nested = {
            "nesting_mode": {"list": "list", "set": "set", "struct": "single"}[kind],
            "block": self.block(hcl_attrs(function), struct, reference),
        }
        single_object = prop is not None and "fqn" in prop["type"]
        if kind in ("list", "set") and single_object:
            nested["max_items"] = 1
        if required and kind != "struct":
            nested["min_items"] = 1
        return nested

    @staticmethod
    def attribute_type(kind: str, storage: str) -> str | list:
        if kind == "simple" and storage in _SIMPLE:
            return _SIMPLE[storage]
        element = re.fullmatch(r"(string|number|boolean)(List|Map)", storage)
        if element and kind in ("list", "set", "map"):
            return [kind, _SIMPLE[element.group(1)]]
        raise SystemExit(f"unsupported attribute storage {kind}/{storage}")

    def computed(self, chunk: str) -> dict[str, str | list]:
        """Attributes the getters of a class read: all of them, the caller drops the configurable ones."""
        found: dict[str, str | list] = {}
        for _getter, kind, name in _GETTER.findall(chunk):
            if kind in _GETTER_TYPES:
                found[name] = _GETTER_TYPES[kind]
        for class_name, name, wraps_set in _FIELD.findall(chunk):
            if class_name.startswith("cdktf."):
                if class_name[6:] in _MAP_CLASSES:
                    found[name] = _MAP_CLASSES[class_name[6:]]
                continue
            element = class_name.removesuffix("List").removesuffix("OutputReference")
            reference = self.chunks.get(element + "OutputReference", "")
            fields = self.computed(reference)
            collection = "set" if wraps_set == "true" else "list"
            found[name] = [collection, ["object", dict(sorted(fields.items()))]]
        return found


def download(binding: Binding, folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            f"{binding.package}=={binding.package_version}",
            "--dest",
            str(folder),
        ],
        check=True,
    )
    return next(folder.glob(binding.package.replace("-", "_") + "-*.whl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", type=Path, default=MODULE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    resources, data_sources = used_types(args.module)
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        for binding in BINDINGS:
            wanted_resources = sorted(resources.get(binding.local_name, ()))
            wanted_data = sorted(data_sources.get(binding.local_name, ()))
            if not wanted_resources and not wanted_data:
                continue
            package = Package(binding, download(binding, Path(temporary)))
            schema = {
                "format_version": "1.0",
                "provider_source": binding.source,
                "provider_version": package.version,
                "extracted_from": f"PyPI {binding.package} {binding.package_version}",
                "provider": Extractor(package, "Provider", binding.local_name).schema(),
                "resource_schemas": {t: Extractor(package, "Resource", t).schema() for t in wanted_resources},
                "data_source_schemas": {t: Extractor(package, "DataSource", t).schema() for t in wanted_data},
            }
            path = args.output / f"{binding.local_name}.json"
            path.write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n")
            print(
                f"{path.relative_to(ROOT)}: {binding.source} {package.version}: "
                f"{len(wanted_resources)} resources, {len(wanted_data)} data sources"
            )


if __name__ == "__main__":
    main()
