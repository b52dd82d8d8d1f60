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


_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"
_BOOL, _INT, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"


class _Dumper(_SafeDumper):  # type: ignore[misc]  # the base is chosen at import time
    """Block style, insertion order kept, multi-line strings as literal blocks, and never an anchor or alias.

    A manifest is a tree: an object that appears twice in it (a schema node two parents share) is written twice.
    PyYAML would write it once with an anchor (``&id001``) and then an alias (``*id001``), which Kubernetes reads
    back but linters, reviewers and some tools do not expect.

    The JSON types are represented here directly, the node each one's ``SafeRepresenter`` method makes, without the
    per-object bookkeeping for aliases and the type lookup along the MRO (printing the all-features render: 40 ms
    -> 30 ms, issue 12). Anything else (floats, subclasses of the JSON types, flow styles, sorted keys) takes
    PyYAML's own path. tests/unit/test_output.py compares the text with PyYAML's pure-Python dumper."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style="|" if "\n" in data else self.default_style)
        if self.default_flow_style is False and self.default_style is None and not self.sort_keys:
            if kind is dict:
                pairs = [(self.represent_data(k), self.represent_data(v)) for k, v in data.items()]
                return yaml.MappingNode(_MAP, pairs, flow_style=False)
            if kind is list:
                return yaml.SequenceNode(_SEQ, [self.represent_data(v) for v in data], flow_style=False)
            if kind is bool:
                return yaml.ScalarNode(_BOOL, "true" if data else "false")
            if kind is int:
                return yaml.ScalarNode(_INT, str(data))
            if data is None:
                return yaml.ScalarNode(_NULL, "null")
        return super().represent_data(data)  # type: ignore[no-any-return]  # the base is chosen at import time


def dump_yaml(manifests: Iterable[dict[str, Any]]) -> str:
    docs = [yaml.dump(m, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120) for m in manifests]
    return "---\n" + "---\n".join(docs) if docs else ""


def dump_json(manifests: Iterable[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifests)}, indent=2) + "\n"


def load_yaml_documents(text: str) -> list[Any]:
    """Every non-empty YAML document of ``text``."""
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]
