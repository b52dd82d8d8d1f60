"""Stable text output of manifests: YAML documents (default) or a JSON List.

Layer: render (pure).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml

#: libyaml's emitter when PyYAML was built with it (the wheels are), in a quarter of the pure-Python one's time: a
#: render prints the SeldonDeployment CRD, about 200 KB of YAML, which was most of `seldonctl render` (issue 12). Its
#: text is the pure-Python one's for printable text (the golden and generated files, compared byte for byte); empty
#: keys, long escaped strings and blocks ending in blank lines may be written another way that reads back the same
#: (tests/unit/test_output.py).
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):  # type: ignore[misc]  # the base is chosen at import time
    """Block style, insertion order kept, multi-line strings as literal blocks."""


def _str_representer(dumper: yaml.representer.SafeRepresenter, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(manifests: Iterable[dict[str, Any]]) -> str:
    docs = [yaml.dump(m, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120) for m in manifests]
    return "---\n" + "---\n".join(docs) if docs else ""


def dump_json(manifests: Iterable[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifests)}, indent=2) + "\n"


def load_yaml_documents(text: str) -> list[Any]:
    """Every non-empty YAML document of ``text``."""
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]
