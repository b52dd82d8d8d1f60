"""The SeldonOperator CRD bounds what it can of the untyped values maps (issue 8, hostile sizes), on the real local
API server: too many top-level keys is refused at admission with a message naming the field. Depth and size have
no schema or CEL form for ``x-kubernetes-preserve-unknown-fields`` maps, so a deep map gets through the API server
and is refused by the operator's own check instead (api/v1alpha1.py, values_bounds_errors).

Everything here is a server-side dry run: nothing is stored, so no running operator ever sees these objects."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from seldon_meta_operator.api.crd import CRD_NAME, seldonoperator_crd
from seldon_meta_operator.api.v1alpha1 import (
    VALUES_MAX_DEPTH,
    VALUES_MAX_PROPERTIES,
    parse_seldon_operator,
)
from seldon_meta_operator.errors import SpecError
from tests.builders import core_values, enterprise_values, platform
from tests.conftest import Cluster, wait_until

pytestmark = pytest.mark.cluster


@pytest.fixture
def crd(cluster: Cluster, open_admission: None) -> None:
    """Our CRD as generated, server-side applied (the same object the install manifest applies)."""
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=test-values-limits",
        "-f",
        "-",
        stdin=yaml.safe_dump(seldonoperator_crd()),
    )
    wait_until(
        "the SeldonOperator CRD to be established",
        lambda: any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in ((cluster.get_json("crd", CRD_NAME) or {}).get("status") or {}).get("conditions") or []
        ),
    )


def dry_run_create(cluster: Cluster, doc: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(cluster.bin_dir / "kubectl"),
            f"--kubeconfig={cluster.kubeconfig}",
            "create",
            "--dry-run=server",
            "-f",
            "-",
        ],
        input=yaml.safe_dump(doc),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wide(n: int) -> dict[str, Any]:
    return {f"key{i}": i for i in range(n)}


def deep(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"leaf": True}
    for _ in range(levels - 1):
        tree = {"a": tree}
    return tree


@pytest.mark.parametrize(
    ("modifier", "field"),
    [(core_values, "spec.core.values"), (enterprise_values, "spec.enterprise.values")],
    ids=["too many Seldon Core values", "too many Seldon Deploy values"],
)
def test_a_values_map_with_too_many_keys_is_refused_at_admission_naming_the_field(
    cluster: Cluster, crd: None, modifier: Any, field: str
) -> None:
    proc = dry_run_create(cluster, platform(modifier(wide(VALUES_MAX_PROPERTIES + 1)), namespace="default"))
    assert proc.returncode != 0, proc.stdout
    assert field in proc.stderr and f"at most {VALUES_MAX_PROPERTIES}" in proc.stderr, proc.stderr


def test_a_values_map_at_the_limit_is_admitted(cluster: Cluster, crd: None) -> None:
    proc = dry_run_create(cluster, platform(core_values(wide(VALUES_MAX_PROPERTIES)), namespace="default"))
    assert proc.returncode == 0, proc.stderr


def test_a_deep_values_map_passes_the_api_server_so_the_operator_refuses_it_first(cluster: Cluster, crd: None) -> None:
    doc = platform(core_values(deep(VALUES_MAX_DEPTH + 10)), namespace="default")
    proc = dry_run_create(cluster, doc)
    assert proc.returncode == 0, proc.stderr  # what the CRD cannot express (docs/api.md, Limits)
    with pytest.raises(SpecError, match=rf"spec\.core\.values: nested more than {VALUES_MAX_DEPTH} levels deep"):
        parse_seldon_operator(doc)
