"""Values cannot widen power beyond what the admin meant (issue 8): a check of every rendered object.

Layer: render (pure). ``render_platform`` calls ``check`` after every component rendered, so the rules hold for
every object whatever value path produced it; a new component or a new value is covered without edits here.
Every violation is reported at once, in one SpecError, each naming the object, the field inside it, the spec
field that usually sets it, and the fix. The rules (docs/security.md says why):

1. **Namespaces.** A namespaced object (and a webhook's Service) goes into the SeldonOperator's namespace, or into a
   namespace the cluster admin listed in the operator's own configuration (``allowed_namespaces``, from its
   ``--allowed-namespace`` options), never into one named only by the spec.
2. **Bindings.** A RoleBinding or ClusterRoleBinding binds only ServiceAccounts this render creates (same name and
   namespace) to a Role or ClusterRole this render creates: no User, no Group, no existing ServiceAccount (such
   as a tenant's ``default``), no existing role (such as ``cluster-admin``).
3. **Pod Security "restricted"** (Kubernetes' profile, v1.30 and later) for every pod template of a Pod, Deployment,
   ReplicaSet, StatefulSet, DaemonSet, Job or CronJob, unless ``spec.security.allow_privileged_pods`` is true.
   One exception, by component and name, not by a flag: the analytics node exporter's DaemonSet may use the
   host's network, processes, paths and ports (measuring the node is its job); everything else about it is
   still "restricted".

Images are not restricted: users mirror registries, so ``image`` values stay free (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from seldon_meta_operator.api.v1alpha1 import SeldonOperatorSpec
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.errors import SpecError, brief
from seldon_meta_operator.render.ownership import is_namespaced

OPT_IN = "spec.security.allow_privileged_pods"
OPT_IN_FIX = f"remove the value, or let an admin set {OPT_IN}: true (docs/security.md)"

#: The one object that may use the host: (component, kind, name).
HOST_ACCESS_EXCEPTIONS = frozenset({("analytics", "DaemonSet", "seldon-core-analytics-prometheus-node-exporter")})

#: Where the pod spec sits inside each workload kind.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

#: Volume types Pod Security "restricted" allows.
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
#: Sysctls Pod Security "baseline" allows (namespaced and isolated from the node).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Hint:
    """The spec field that usually sets ``field`` (a prefix) of a component's objects whose name starts with
    ``name`` (empty: any)."""

    component: str
    field: str
    value_path: str
    name: str = ""


#: Which value usually sets what. Only for messages: the rules above hold whatever set the field.
HINTS: tuple[Hint, ...] = (
    Hint("seldon_core", "metadata.namespace", "spec.core.values.usageMetrics.enabled", "seldon-spartakus"),
    Hint("seldon_core", "subjects", "spec.core.values.serviceAccount.create and serviceAccount.name"),
    Hint(
        "seldon_core",
        "spec.template.spec.containers[manager].securityContext",
        "spec.core.values.manager.containerSecurityContext",
    ),
    Hint("seldon_core", "spec.template.spec.hostNetwork", "spec.core.values.hostNetwork"),
    Hint("seldon_core", "spec.template.spec.securityContext", "spec.core.values.managerUserID"),
    Hint("seldon_deploy", "metadata.namespace", "spec.enterprise.values.gitops.argocd.namespace", "seldon-deploy-argo"),
    Hint(
        "seldon_deploy",
        "metadata.namespace",
        "spec.enterprise.values.requestLogger.namespace.name",
        "seldon-deploy-logs",
    ),
    Hint("seldon_deploy", "subjects", "spec.enterprise.values.serviceAccount.create and serviceAccount.name"),
    Hint("request_logger", "metadata.namespace", "spec.enterprise.values.requestLogger.namespace.name"),
)
#: Where a component's values live, when no hint is more precise.
COMPONENT_VALUES = {
    "seldon_core": "spec.core.values",
    "seldon_deploy": "spec.enterprise.values",
    "request_logger": "spec.enterprise.values.requestLogger",
}


@dataclass(frozen=True)
class Violation:
    component: str
    obj: str  # "Deployment seldon-system/seldon-controller-manager"
    field: str  # inside the object, containers by name: "spec.template.spec.containers[manager].securityContext"
    problem: str
    value_path: str  # the spec field that usually sets it
    fix: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.field}: {self.problem} (set by {self.value_path}); {self.fix}"


def opt_ins(spec: SeldonOperatorSpec) -> list[str]:
    """The admin's opt-ins in force, as spec paths, for status and ``seldonctl status``."""
    return [OPT_IN] if spec.security.allow_privileged_pods else []


def check(
    rendered: Iterable[tuple[str, Manifest]],
    *,
    namespace: str,
    allowed_namespaces: frozenset[str] = frozenset(),
    spec: SeldonOperatorSpec,
) -> None:
    """Raise one SpecError listing every violation of ``rendered`` ((component, object) pairs)."""
    found = violations(rendered, namespace=namespace, allowed_namespaces=allowed_namespaces, spec=spec)
    if found:
        raise SpecError(
            f"refused by the operator's security policy (docs/security.md): {'; '.join(str(v) for v in found)}"
        )


def violations(
    rendered: Iterable[tuple[str, Manifest]],
    *,
    namespace: str,
    allowed_namespaces: frozenset[str] = frozenset(),
    spec: SeldonOperatorSpec,
) -> list[Violation]:
    objects = list(rendered)
    where = frozenset({namespace}) | allowed_namespaces
    accounts = {
        (m["metadata"].get("namespace"), m["metadata"]["name"]) for _, m in objects if m["kind"] == "ServiceAccount"
    }
    roles = {(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for _, m in objects}
    out: list[Violation] = []
    for component, manifest in objects:
        problems = [
            *_namespace_problems(manifest, namespace, where),
            *_binding_problems(manifest, accounts, roles),
        ]
        if not spec.security.allow_privileged_pods:
            problems += _pod_problems(component, manifest)
        out += [_violation(component, manifest, field, problem, fix) for field, problem, fix in problems]
    return out


Problem = tuple[str, str, str]  # (field inside the object, what is wrong, the fix)


def _m(node: Any) -> Mapping[str, Any]:
    """``node`` if a mapping, else empty: values can put junk anywhere, and the API server reports junk itself."""
    return node if isinstance(node, Mapping) else {}


def _strings(node: Any) -> list[Any]:
    """The items of ``node`` if a list (capabilities), else none."""
    return list(node) if isinstance(node, list) else []


def _l(node: Any) -> list[Mapping[str, Any]]:
    """The mappings of ``node`` if a list, else none (see ``_m``)."""
    return [item for item in node if isinstance(item, Mapping)] if isinstance(node, list) else []


def _violation(component: str, manifest: Manifest, field: str, problem: str, fix: str) -> Violation:
    meta = manifest["metadata"]
    name = meta["name"]
    obj = f"{manifest['kind']} {meta['namespace']}/{name}" if meta.get("namespace") else f"{manifest['kind']} {name}"
    value_path = next(
        (
            h.value_path
            for h in HINTS
            if h.component == component and field.startswith(h.field) and name.startswith(h.name)
        ),
        COMPONENT_VALUES.get(component, f"the settings of component {component}"),
    )
    return Violation(component, obj, field, problem, value_path, fix)


def _allowed_fix(namespace: str, target: Any) -> str:
    return (
        f"put it in the platform's namespace {namespace} (the default of most such values), or ask the cluster "
        f"admin to run the operator with --allowed-namespace {brief(target, 64)}"
    )


def _namespace_problems(manifest: Manifest, namespace: str, where: frozenset[str]) -> Iterator[Problem]:
    target = manifest["metadata"].get("namespace")
    if is_namespaced(manifest) and target not in where:
        yield "metadata.namespace", f"namespace {brief(target, 64)} is not allowed", _allowed_fix(namespace, target)
    if manifest["kind"] in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for i, hook in enumerate(_l(manifest.get("webhooks"))):
            service = _m(hook.get("clientConfig")).get("service")
            if service is not None and service.get("namespace") not in where:
                yield (
                    f"webhooks[{i}].clientConfig.service.namespace",
                    f"namespace {brief(service.get('namespace'), 64)} is not allowed",
                    _allowed_fix(namespace, service.get("namespace")),
                )


def _binding_problems(
    manifest: Manifest, accounts: set[tuple[Any, Any]], roles: set[tuple[Any, Any, Any]]
) -> Iterator[Problem]:
    kind = manifest["kind"]
    if kind not in ("RoleBinding", "ClusterRoleBinding") or not manifest["apiVersion"].startswith(RBAC_GROUP):
        return
    own_ns = manifest["metadata"].get("namespace")
    create_fix = "keep serviceAccount.create: true: the operator binds only ServiceAccounts it creates itself"
    for i, subject in enumerate(_l(manifest.get("subjects"))):
        subject_kind = subject.get("kind")
        name = str(subject.get("name"))
        if subject_kind == "ServiceAccount":
            # A RoleBinding's subject without a namespace means the binding's own namespace.
            sa_ns = str(subject.get("namespace") or own_ns)
            if (sa_ns, name) not in accounts:
                yield (
                    f"subjects[{i}]",
                    f"binds ServiceAccount {brief(sa_ns, 64)}/{brief(name, 64)}, which this platform does not create",
                    create_fix,
                )
        else:
            yield (
                f"subjects[{i}]",
                f"binds the {brief(subject_kind, 32)} {brief(name, 64)}; only ServiceAccounts the platform creates "
                "may be bound",
                "remove the subject",
            )
    ref = _m(manifest.get("roleRef"))
    ref_ns = None if ref.get("kind") == "ClusterRole" else own_ns
    if ref.get("kind") not in ("Role", "ClusterRole") or (ref.get("kind"), ref_ns, str(ref.get("name"))) not in roles:
        yield (
            "roleRef",
            f"refers to {brief(ref.get('kind'), 32)} {brief(ref.get('name'), 64)}, which this platform does not create",
            "bind only the roles the platform renders",
        )


def _pod_problems(component: str, manifest: Manifest) -> Iterator[Problem]:
    path = POD_SPEC_PATHS.get(manifest["kind"])
    if path is None or manifest["apiVersion"] not in ("v1", "apps/v1", "batch/v1"):
        return
    node: Any = manifest
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return
    prefix = ".".join(path)
    host_ok = (component, manifest["kind"], manifest["metadata"]["name"]) in HOST_ACCESS_EXCEPTIONS
    template_meta = _template_metadata(manifest, path)
    yield from _pod_level(node, prefix, host_ok)
    pod_ctx = _m(node.get("securityContext"))
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in _l(node.get(group)):
            where = f"{prefix}.{group}[{container.get('name', '?')}]"
            yield from _container_level(container, pod_ctx, where, host_ok)
            annotation = template_meta.get(f"{APPARMOR_ANNOTATION}{container.get('name')}")
            if annotation is not None and not (
                annotation == "runtime/default" or (isinstance(annotation, str) and annotation.startswith("localhost/"))
            ):
                yield (
                    f"{'.'.join(path[:-1])}.metadata.annotations",
                    f"AppArmor profile {brief(annotation, 64)} is refused",
                    OPT_IN_FIX,
                )


def _template_metadata(manifest: Manifest, path: tuple[str, ...]) -> Mapping[str, Any]:
    node: Any = manifest
    for part in (*path[:-1], "metadata", "annotations"):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _pod_level(pod: Mapping[str, Any], prefix: str, host_ok: bool) -> Iterator[Problem]:
    if not host_ok:
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                yield f"{prefix}.{key}", "host namespaces are refused", OPT_IN_FIX
    for volume in _l(pod.get("volumes")):
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in RESTRICTED_VOLUMES and not (host_ok and kind == "hostPath"):
                yield (
                    f"{prefix}.volumes[{volume.get('name', '?')}].{kind}",
                    f"{kind} volumes are refused (allowed: {', '.join(sorted(RESTRICTED_VOLUMES))})",
                    OPT_IN_FIX,
                )
    ctx = _m(pod.get("securityContext"))
    where = f"{prefix}.securityContext"
    if ctx.get("runAsNonRoot") is False:
        yield f"{where}.runAsNonRoot", "running as root is refused", OPT_IN_FIX
    if ctx.get("runAsUser") == 0:
        yield f"{where}.runAsUser", "user 0 (root) is refused", OPT_IN_FIX
    yield from _seccomp(ctx, where)
    yield from _selinux(ctx, where)
    if _m(ctx.get("appArmorProfile")).get("type") == "Unconfined":
        yield f"{where}.appArmorProfile", "an Unconfined AppArmor profile is refused", OPT_IN_FIX
    for sysctl in _l(ctx.get("sysctls")):
        if str(sysctl.get("name")) not in SAFE_SYSCTLS:
            yield f"{where}.sysctls", f"sysctl {brief(sysctl.get('name'), 64)} is refused", OPT_IN_FIX


def _seccomp(ctx: Mapping[str, Any], where: str) -> Iterator[Problem]:
    kind = _m(ctx.get("seccompProfile")).get("type")
    if kind is not None and kind not in ("RuntimeDefault", "Localhost"):
        yield f"{where}.seccompProfile.type", f"seccomp profile {brief(kind, 32)} is refused", OPT_IN_FIX


def _selinux(ctx: Mapping[str, Any], where: str) -> Iterator[Problem]:
    options = _m(ctx.get("seLinuxOptions"))
    if str(options.get("type", "")) not in SELINUX_TYPES or options.get("user") or options.get("role"):
        yield f"{where}.seLinuxOptions", "custom SELinux users, roles or types are refused", OPT_IN_FIX


def _container_level(
    container: Mapping[str, Any], pod_ctx: Mapping[str, Any], where: str, host_ok: bool
) -> Iterator[Problem]:
    ctx = _m(container.get("securityContext"))
    sc = f"{where}.securityContext"
    if ctx.get("privileged"):
        yield f"{sc}.privileged", "privileged containers are refused", OPT_IN_FIX
    if ctx.get("allowPrivilegeEscalation") is not False:
        yield f"{sc}.allowPrivilegeEscalation", "must be false", OPT_IN_FIX
    capabilities = _m(ctx.get("capabilities"))
    added = [c for c in _strings(capabilities.get("add")) if c != "NET_BIND_SERVICE"]
    if added:
        shown = ", ".join(brief(c, 32) for c in added[:5])
        yield f"{sc}.capabilities.add", f"added capabilities ({shown}) are refused", OPT_IN_FIX
    if "ALL" not in _strings(capabilities.get("drop")):
        yield f"{sc}.capabilities.drop", "must drop ALL", OPT_IN_FIX
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    if non_root is not True:
        yield f"{sc}.runAsNonRoot", "must be true (here or in the pod's securityContext)", OPT_IN_FIX
    if ctx.get("runAsUser") == 0:
        yield f"{sc}.runAsUser", "user 0 (root) is refused", OPT_IN_FIX
    seccomp = _m(ctx.get("seccompProfile", pod_ctx.get("seccompProfile")))
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        yield (
            f"{sc}.seccompProfile.type",
            "must be RuntimeDefault or Localhost (here or in the pod's securityContext)",
            OPT_IN_FIX,
        )
    yield from _selinux(ctx, sc)
    if ctx.get("procMount", "Default") != "Default":
        yield f"{sc}.procMount", "an unmasked /proc is refused", OPT_IN_FIX
    if _m(ctx.get("windowsOptions")).get("hostProcess"):
        yield f"{sc}.windowsOptions.hostProcess", "host processes are refused", OPT_IN_FIX
    if _m(ctx.get("appArmorProfile")).get("type") == "Unconfined":
        yield f"{sc}.appArmorProfile", "an Unconfined AppArmor profile is refused", OPT_IN_FIX
    if not host_ok:
        for port in _l(container.get("ports")):
            if port.get("hostPort"):
                yield (
                    f"{where}.ports[{port.get('name', port.get('containerPort'))}].hostPort",
                    "host ports are refused",
                    OPT_IN_FIX,
                )
