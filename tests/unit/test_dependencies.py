"""The operator's dependency tree, as installed: what must never be in it.

kopf imports ``kubernetes_asyncio`` whenever it is importable (for its client-library login), and that package
alone doubles the operator's memory. lightkube is our client, so nothing we depend on may pull it in.
"""

from __future__ import annotations

import re
from importlib import metadata

FORBIDDEN = {"kubernetes-asyncio", "kubernetes"}


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def runtime_tree(root: str = "seldon-meta-operator") -> set[str]:
    """Every distribution the package needs at run time, transitively (extras such as ``dev`` left out)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # an optional dependency of a dependency that is not installed
        todo.extend(_name(r) for r in requires if "extra ==" not in r)
    return seen


def test_the_runtime_dependency_tree_holds_kopf_and_lightkube() -> None:
    tree = runtime_tree()
    assert {"kopf", "lightkube", "pydantic"} <= tree, sorted(tree)


def test_no_kubernetes_client_library_but_lightkube_is_in_the_runtime_tree() -> None:
    assert not FORBIDDEN & runtime_tree()


def test_kubernetes_asyncio_is_not_installed_so_kopf_cannot_import_it() -> None:
    try:
        metadata.version("kubernetes-asyncio")
    except metadata.PackageNotFoundError:
        return
    raise AssertionError("kubernetes-asyncio is installed: kopf would import it and double the operator's memory")
