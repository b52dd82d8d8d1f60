"""The operator's watches and clean-up scans come from every variant of a full render, kept as an outline (issue
12: holding the five renders at once stayed in the operator's resident memory): the outline must say what the
full render says."""

from __future__ import annotations

from seldon_meta_operator.kube.client import builtin_plural
from seldon_meta_operator.reconcile.reconciler import _SCAN_NAMESPACE, everything_outline, managed_resources
from seldon_meta_operator.render.install import plural_resolver, render_everything


def test_the_outline_holds_every_object_of_the_full_render_by_kind_name_and_namespace() -> None:
    full = render_everything(namespace=_SCAN_NAMESPACE)

    def keys(manifests: object) -> set[tuple[str, str, str, str]]:
        return {
            (m["apiVersion"], m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])
            for m in manifests  # type: ignore[attr-defined]
        }

    outline = everything_outline()
    assert keys(outline) == keys(full)
    assert len(outline) == len(keys(full))  # one entry per object, however many variants render it
    # Plurals resolve the same from the outline as from the full render (CRDs keep their names).
    resolve_full, resolve_outline = plural_resolver(full, builtin_plural), plural_resolver(outline, builtin_plural)
    assert {resolve_full(m["apiVersion"], m["kind"]) for m in full} == {
        resolve_outline(m["apiVersion"], m["kind"]) for m in outline
    }
    assert {("apps", "deployments"), ("", "secrets")} <= {(r.group, r.plural) for r in managed_resources()}
