"""`seldonctl uninstall`'s plan (pure): SeldonOperators first, then the operator in a safe order, our CRD last; the
SeldonDeployment CRD and the data are kept unless --purge-data. Also the install manifest the CLI carries."""

from __future__ import annotations

from typing import Any

import pytest

from seldon_meta_operator.cli.install import Platform, data_pvc_prefixes, install_manifests, plan_uninstall, relocate
from seldon_meta_operator.render.ownership import object_key, parse_key

OUR_CRD = "apiextensions.k8s.io/v1/CustomResourceDefinition//seldonoperators.operator.seldon.io"
SDEP_CRD = "apiextensions.k8s.io/v1/CustomResourceDefinition//seldondeployments.machinelearning.seldon.io"
DATA = (
    "v1/PersistentVolumeClaim/seldon-system/data-seldon-internal-postgres-postgresql-0",
    "v1/Secret/seldon-system/metadata-postgres",
)
INSTALL = [object_key(m) for m in install_manifests()]
PLATFORM = Platform(
    "seldon-system",
    "seldonoperator-sample",
    (
        SDEP_CRD,
        "apps/v1/Deployment/seldon-system/seldon-deploy",
        "rbac.authorization.k8s.io/v1/ClusterRole//seldon-deploy-role",
    ),
)


def kinds(keys: tuple[str, ...] | list[str]) -> list[str]:
    return [parse_key(k)[1] for k in keys]


def test_seldon_operators_are_deleted_first_and_what_they_own_is_waited_for_except_crds() -> None:
    plan = plan_uninstall([PLATFORM], INSTALL, DATA, True, purge_data=False)
    assert plan.platforms == (PLATFORM,)
    assert plan.owned == (
        "apps/v1/Deployment/seldon-system/seldon-deploy",
        "rbac.authorization.k8s.io/v1/ClusterRole//seldon-deploy-role",
    )
    assert PLATFORM.key == "operator.seldon.io/v1alpha1/SeldonOperator/seldon-system/seldonoperator-sample"


def test_the_operator_goes_in_reverse_apply_order_and_our_crd_last() -> None:
    plan = plan_uninstall([PLATFORM], INSTALL, DATA, True, purge_data=False)
    order = kinds(plan.operator)
    assert "CustomResourceDefinition" not in order
    assert plan.crd == OUR_CRD
    # The Deployment stops first (nothing recreates what follows), accounts and their rights go after it.
    assert order.index("Deployment") < order.index("Service") < order.index("ClusterRoleBinding")
    assert order.index("ClusterRoleBinding") < order.index("ClusterRole") < order.index("ServiceAccount")
    assert sorted(plan.operator) == sorted(k for k in INSTALL if k != OUR_CRD)


def test_webhooks_go_before_the_workloads_that_serve_them() -> None:
    webhook = "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//hooks"
    deployment = "apps/v1/Deployment/seldon-system/seldon-operator-controller-manager"
    plan = plan_uninstall([], [deployment, webhook, OUR_CRD], (), False, purge_data=False)
    assert plan.operator == (webhook, deployment)


def test_the_seldondeployment_crd_is_never_deleted_and_the_reason_is_printed() -> None:
    plan = plan_uninstall([PLATFORM], [*INSTALL, SDEP_CRD], DATA, True, purge_data=True)
    assert SDEP_CRD not in plan.operator and plan.crd != SDEP_CRD
    kept = dict(plan.kept)
    assert "every model" in kept[SDEP_CRD]


@pytest.mark.parametrize(
    ("purge", "purged", "kept"),
    [(False, (), DATA), (True, DATA, ())],
    ids=["data survives by default", "--purge-data deletes it"],
)
def test_data_is_kept_unless_purge_data(purge: bool, purged: tuple[str, ...], kept: tuple[str, ...]) -> None:
    plan = plan_uninstall([PLATFORM], INSTALL, DATA, False, purge_data=purge)
    assert plan.purge == tuple(sorted(purged))
    assert tuple(k for k, _ in plan.kept) == tuple(sorted(kept))
    assert not set(DATA) & set(plan.operator) and not set(DATA) & set(plan.owned)


def test_a_namespace_of_the_install_manifest_is_kept_with_the_data_in_it() -> None:
    namespace = "v1/Namespace//seldon-system"
    assert namespace in dict(plan_uninstall([], [namespace, OUR_CRD], (), False, purge_data=False).kept)
    assert namespace in plan_uninstall([], [namespace, OUR_CRD], (), False, purge_data=True).operator


def test_other_crds_of_the_manifest_go_just_before_ours() -> None:
    other = "apiextensions.k8s.io/v1/CustomResourceDefinition//widgets.example.com"
    plan = plan_uninstall([], [OUR_CRD, other, *INSTALL], (), False, purge_data=False)
    assert plan.operator[-1] == other and plan.crd == OUR_CRD


def test_nothing_installed_is_an_empty_plan() -> None:
    plan = plan_uninstall([], [], (), False, purge_data=False)
    assert plan.empty and plan.kept == ()
    assert not plan_uninstall([], [], DATA, False, purge_data=True).empty  # left-over data can still be purged


# --- The install manifest --------------------------------------------------------------------------------


def test_the_install_manifest_is_carried_by_the_package_in_apply_order() -> None:
    manifests = install_manifests()
    assert manifests[0]["kind"] == "CustomResourceDefinition"
    assert manifests[0]["metadata"]["name"] == "seldonoperators.operator.seldon.io"
    deployments = [m for m in manifests if m["kind"] == "Deployment"]
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments] == [
        ("seldon-system", "seldon-operator-controller-manager")
    ]
    assert "Namespace" not in kinds([object_key(m) for m in manifests])


def test_relocating_the_install_manifest_moves_every_namespace_reference() -> None:
    binding: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "seldon-system"}],
    }
    moved = relocate(binding, "ops")
    assert moved["subjects"][0]["namespace"] == "ops" and binding["subjects"][0]["namespace"] == "seldon-system"
    relocated = install_manifests("ops")
    assert {m["metadata"].get("namespace") for m in relocated} <= {None, "ops"}
    namespace = relocate({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "seldon-system"}}, "ops")
    assert namespace["metadata"]["name"] == "ops"


def test_the_data_volumes_are_those_of_the_trial_stores() -> None:
    assert data_pvc_prefixes() == (
        "data-seldon-internal-opensearch-cluster-master-",
        "data-seldon-internal-postgres-postgresql-",
    )
