"""The operator's Helm chart (``charts/seldon-meta-operator/``), generated from the install manifest's objects.

Layer: render (pure: objects in, file texts out). Called by ``cli/generated.py`` (``seldonctl generate deploy``,
``make generate``), which passes ``render/install.py``'s ``install_manifests``: the chart and
``deploy/seldonoperator_install.yaml`` have one source, and ``helm template`` of the chart with its default values
(in the namespace the manifest names) gives exactly the manifest's objects (tests/integration/test_chart.py).

How: each object is dumped as YAML after the fields that become values are swapped for marker words, then each
marker is replaced by its template expression. ``values.yaml`` takes its defaults from the same objects:

- the namespace: the objects are made for a marker namespace, so every place it appears (metadata, subjects, the
  operator's ``--namespace``, role names, the admission policy) becomes the release namespace, or
  ``namespaceOverride``. The objects made for the marker, with the marker replaced by the manifest's namespace,
  must equal the manifest's objects; generation fails otherwise;
- the Deployment: replicas, the manager container's image (repository, tag, digest), pull policy, resources,
  log level and format (``--verbose``, ``--json-logs``), the metrics port (every ``=PORT``/``:PORT`` in the
  containers' args and the ``metrics`` container port), ``allowedNamespaces`` (``--allowed-namespace`` and a
  RoleBinding of the operator's namespace role in each); the pod's pull secrets, node selector, tolerations,
  affinity and priority class, each written only when set;
- a ServiceMonitor for the metrics Service, off by default (so absent from the manifest).

No Helm labels are added: the chart's objects are the manifest's, and the operator's names are fixed, so one
release per cluster (the CRD is cluster-scoped anyway).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.render.output import dump_yaml

CHART_NAME = "seldon-meta-operator"
#: Stands for the operator's namespace while the objects are made; a valid DNS label sorting like the real one
#: would (the real one followed by a letter), so sorted lists keep their order once it is replaced.
NAMESPACE_MARKER = "seldon-systemzzhelmnamespace"
NS = '{{ include "seldon-meta-operator.namespace" . }}'
MANAGER = "manager"  # the operator's container in the Deployment
POD_OPTIONAL: tuple[
    tuple[str, str, Any], ...
] = (  # pod-spec fields written only when their value is set: (field, values key, empty value)
    ("imagePullSecrets", "imagePullSecrets", []),
    ("nodeSelector", "nodeSelector", {}),
    ("tolerations", "tolerations", []),
    ("affinity", "affinity", {}),
)
LOG_FORMAT_FLAG = "--json-logs"
LOG_LEVEL_FLAG = "--verbose"
ALLOWED_NAMESPACE_FLAG = "--allowed-namespace"


class ChartError(ValueError):
    """The install manifest's objects cannot be turned into the chart (names what to change)."""


@dataclass
class _Markers:
    """Marker words put into the objects, and what replaces each line holding one."""

    lines: dict[str, Callable[[str], str]]  # marker -> (the line's indent) -> replacement lines

    def add(self, build: Callable[[str], str]) -> str:
        marker = f"helmmarker{len(self.lines)}x"
        self.lines[marker] = build
        return marker


def _split_image(image: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of an image reference."""
    repository, _, digest = image.partition("@")
    last = repository.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        repository, tag = repository.rsplit(":", 1)
    return repository, tag, digest


def _deployment(objects: Sequence[Manifest]) -> Manifest:
    found = [o for o in objects if o["kind"] == "Deployment"]
    if len(found) != 1:
        raise ChartError(f"the install manifest holds {len(found)} Deployments; the chart expects exactly one")
    return found[0]


def _container(pod: Mapping[str, Any], name: str) -> dict[str, Any]:
    for container in pod["containers"]:
        if container["name"] == name:
            return dict(container)
    raise ChartError(f"the Deployment has no container {name!r}; render/chart.py MANAGER names the operator's")


def _flag_value(args: Sequence[str], flag: str) -> str | None:
    for arg in args:
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _quote(text: str) -> str:
    return json.dumps(text)  # a YAML double-quoted scalar


def _port_in(text: str, port: int) -> str:
    """``text`` with each ``=PORT`` or ``:PORT`` (not followed by a digit) templated as the metrics port."""
    return re.sub(rf"(?<=[=:]){port}(?!\d)", "{{ .Values.metrics.port }}", text)


def _args_block(args: Sequence[str], metrics_port: int | None, manager: bool) -> Callable[[str], str]:
    """The args of a container, one template line each: log flags and allowed namespaces from values."""

    def build(indent: str) -> str:
        lines = [f"{indent}args:"]
        for arg in args:
            if manager and arg == LOG_FORMAT_FLAG:
                lines.append(f'{indent}{{{{- if eq .Values.logFormat "json" }}}}')
                lines.append(f"{indent}- {_quote(arg)}")
                lines.append(f"{indent}{{{{- end }}}}")
            elif manager and arg == LOG_LEVEL_FLAG:
                lines.append(f'{indent}{{{{- if eq .Values.logLevel "debug" }}}}')
                lines.append(f"{indent}- {_quote(arg)}")
                lines.append(f"{indent}{{{{- end }}}}")
            elif manager and arg.startswith(ALLOWED_NAMESPACE_FLAG + "="):
                continue  # from .Values.allowedNamespaces, below
            else:
                text = _quote(arg)
                lines.append(f"{indent}- {_port_in(text, metrics_port) if metrics_port else text}")
        if manager:
            if LOG_LEVEL_FLAG not in args:
                lines.append(f'{indent}{{{{- if eq .Values.logLevel "debug" }}}}')
                lines.append(f"{indent}- {_quote(LOG_LEVEL_FLAG)}")
                lines.append(f"{indent}{{{{- end }}}}")
            if LOG_FORMAT_FLAG not in args:
                lines.append(f'{indent}{{{{- if eq .Values.logFormat "json" }}}}')
                lines.append(f"{indent}- {_quote(LOG_FORMAT_FLAG)}")
                lines.append(f"{indent}{{{{- end }}}}")
            lines.append(f"{indent}{{{{- range .Values.allowedNamespaces }}}}")
            lines.append(f"{indent}- {{{{ printf {_quote(ALLOWED_NAMESPACE_FLAG + '=%s')} . | quote }}}}")
            lines.append(f"{indent}{{{{- end }}}}")
        return "\n".join(lines)

    return build


def _block(key: str, expression: str) -> Callable[[str], str]:
    """``key:`` followed by ``expression`` (a value) as YAML, indented under it."""
    return lambda indent: f"{indent}{key}:\n{indent}  {{{{- toYaml {expression} | nindent {len(indent) + 2} }}}}"


def _optional(key: str, expression: str) -> Callable[[str], str]:
    """``key:`` with ``expression``'s value, only when it is set (not empty)."""
    return lambda indent: (
        f"{indent}{{{{- with {expression} }}}}\n{indent}{key}:\n"
        f"{indent}  {{{{- toYaml . | nindent {len(indent) + 2} }}}}\n{indent}{{{{- end }}}}"
    )


def _optional_scalar(key: str, expression: str) -> Callable[[str], str]:
    """``key: value`` with ``expression``'s value, only when it is set (not empty)."""
    return lambda indent: (
        f"{indent}{{{{- with {expression} }}}}\n{indent}{key}: {{{{ . | quote }}}}\n{indent}{{{{- end }}}}"
    )


def _inline(expression: str) -> Callable[[str], str]:
    return lambda _indent: expression


def _template_deployment(deployment: Manifest, markers: _Markers, metrics_port: int) -> tuple[Manifest, dict[str, Any]]:
    """The Deployment with markers, and the values it gives."""
    out = copy.deepcopy(deployment)
    spec = out["spec"]
    pod = spec["template"]["spec"]
    values: dict[str, Any] = {"replicas": spec.get("replicas", 1)}
    spec["replicas"] = markers.add(_inline("{{ .Values.replicas }}"))

    containers = []
    manager_args: list[str] = []
    for original in pod["containers"]:
        container = dict(original)
        is_manager = container["name"] == MANAGER
        args = list(container.get("args") or [])
        if args:
            container["args"] = markers.add(_args_block(args, metrics_port, is_manager))
        for port in container.get("ports") or []:
            if port.get("containerPort") == metrics_port and port.get("name") == "metrics":
                port["containerPort"] = markers.add(_inline("{{ .Values.metrics.port }}"))
        if is_manager:
            manager_args = args
            repository, tag, digest = _split_image(container["image"])
            values["image"] = {
                "repository": repository,
                "tag": tag,
                "digest": digest,
                "pullPolicy": container.get("imagePullPolicy", "IfNotPresent"),
            }
            container["image"] = markers.add(_inline('{{ include "seldon-meta-operator.image" . }}'))
            container["imagePullPolicy"] = markers.add(_inline("{{ .Values.image.pullPolicy }}"))
            values["resources"] = container.get("resources", {})
            container["resources"] = markers.add(_block("resources", ".Values.resources"))
        containers.append(container)
    pod["containers"] = containers
    _container(pod, MANAGER)  # it must exist

    values["logLevel"] = "debug" if LOG_LEVEL_FLAG in manager_args else "info"
    values["logFormat"] = "json" if LOG_FORMAT_FLAG in manager_args else "text"
    values["allowedNamespaces"] = [
        a.split("=", 1)[1] for a in manager_args if a.startswith(ALLOWED_NAMESPACE_FLAG + "=")
    ]
    if manager_args and not any(a.startswith("--metrics-port=") for a in manager_args):
        raise ChartError("the manager's args set no --metrics-port=; the chart's metrics.port has nothing to set")

    for field, key, empty in POD_OPTIONAL:
        values[key] = pod.pop(field, empty)
        pod[markers.add(_optional(field, f".Values.{key}"))] = "x"
    values["priorityClassName"] = pod.pop("priorityClassName", "")
    pod[markers.add(_optional_scalar("priorityClassName", ".Values.priorityClassName"))] = "x"
    return out, values


def _namespace_role_binding(objects: Sequence[Manifest]) -> Manifest | None:
    """The RoleBinding that grants the operator its rights in its own namespace, copied into each allowed one."""
    found = [
        o
        for o in objects
        if o["kind"] == "RoleBinding"
        and o["metadata"].get("namespace") == NAMESPACE_MARKER
        and o.get("roleRef", {}).get("kind") == "ClusterRole"
    ]
    return found[0] if len(found) == 1 else None


def _allowed_namespace_bindings(binding: Manifest) -> str:
    """The operator's namespace RoleBinding, once in each of ``allowedNamespaces`` (its rights there)."""
    copied = copy.deepcopy(binding)
    copied["metadata"]["namespace"] = "helmallowednamespacex"
    text = dump_yaml([copied]).replace("helmallowednamespacex", "{{ $ns }}")
    text = text.replace(NAMESPACE_MARKER, NS.replace(" . ", " $ "))  # `.` is the list item inside range
    return "{{- range $ns := .Values.allowedNamespaces }}\n" + text + "{{- end }}\n"


def _dump(manifest: Manifest, markers: _Markers) -> str:
    text = dump_yaml([manifest]).removeprefix("---\n")
    # Text of the objects that looks like a template must stay text.
    text = text.replace("{{", '{{ "{{" }}')
    out = []
    for line in text.splitlines():
        found = re.search(r"helmmarker\d+x", line)
        if not found:
            out.append(line)
            continue
        marker = found.group(0)
        indent = line[: len(line) - len(line.lstrip(" "))]
        if line.strip().startswith("- "):  # never produced: markers replace whole lists or scalars
            raise ChartError(f"marker in a list item: {line.strip()}")
        build = markers.lines[marker]
        if re.fullmatch(rf"\s*{marker}: x", line):  # an optional field
            out.append(build(indent))
        elif re.fullmatch(rf"\s*[\w.-]+: {marker}", line):
            key = line.strip().split(":", 1)[0]
            built = build(indent)
            out.append(built if built.startswith(indent + key + ":") else f"{indent}{key}: {built}")
        else:
            raise ChartError(f"marker in an unexpected place: {line.strip()}")
    return "\n".join(out).replace(NAMESPACE_MARKER, NS) + "\n"


def _file_name(manifest: Manifest) -> str:
    name = manifest["metadata"]["name"].replace(NAMESPACE_MARKER, "namespace")
    return f"templates/{manifest['kind'].lower()}-{name}.yaml"


HELPERS = """{{/* The operator's namespace: namespaceOverride, else the release's. */}}
{{- define "seldon-meta-operator.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{/* The operator's image: repository@digest when a digest is set, else repository:tag (tag: the appVersion). */}}
{{- define "seldon-meta-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}
"""


def _service_monitor(objects: Sequence[Manifest], service_name: str) -> str:
    """A ServiceMonitor for the metrics Service (Prometheus Operator), written when metrics.serviceMonitor.enabled.

    The Service serves the proxy's HTTPS port; Prometheus authenticates with its ServiceAccount token, which
    must be bound to the metrics-reader ClusterRole (see README)."""
    found = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service_name]
    if len(found) != 1:
        raise ChartError(f"no Service {service_name} among the install manifest's objects")
    service = found[0]
    port = service["spec"]["ports"][0]["name"]
    labels = yaml.safe_dump(service["metadata"].get("labels", {}), sort_keys=True).rstrip("\n")
    indented = "\n".join("    " + line for line in labels.splitlines())
    # Select by the Service's labels except the version, which an upgrade changes.
    stable = {k: v for k, v in service["metadata"].get("labels", {}).items() if not k.endswith("/version")}
    selector = "\n".join("      " + line for line in yaml.safe_dump(stable, sort_keys=True).splitlines())
    return f"""{{{{- if .Values.metrics.serviceMonitor.enabled }}}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {service_name}
  namespace: {NS}
  labels:
{indented}
    {{{{- with .Values.metrics.serviceMonitor.labels }}}}
    {{{{- toYaml . | nindent 4 }}}}
    {{{{- end }}}}
spec:
  selector:
    matchLabels:
{selector}
  namespaceSelector:
    matchNames:
    - {NS}
  endpoints:
  - port: {port}
    scheme: https
    path: /metrics
    interval: {{{{ .Values.metrics.serviceMonitor.interval }}}}
    bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
    tlsConfig:
      # kube-rbac-proxy serves a self-signed certificate unless given one.
      insecureSkipVerify: true
{{{{- end }}}}
"""


def _values_yaml(values: Mapping[str, Any]) -> str:
    comments = {
        "namespaceOverride": "The operator's namespace (empty: the release's, `helm install -n seldon-system`).",
        "replicas": "Operator replicas.",
        "image": "The operator's image: repository:tag (tag empty: the chart's appVersion), or repository@digest.",
        "imagePullSecrets": "Secrets to pull the image with, e.g. [{name: regcred}].",
        "resources": "The operator container's requests and limits.",
        "nodeSelector": "Pod scheduling. Helm merges maps with these defaults: set a key to null to remove it\n"
        "(e.g. --set affinity=null).",
        "tolerations": None,
        "affinity": None,
        "priorityClassName": None,
        "logLevel": "info or debug (`--verbose`).",
        "logFormat": "json or text (`--json-logs`).",
        "metrics": "port: the operator's plain-HTTP metrics port (served on loopback to the kube-rbac-proxy);\n"
        "serviceMonitor: a Prometheus Operator ServiceMonitor for the metrics Service (HTTPS, via the proxy).",
        "allowedNamespaces": "Other namespaces the platform may put objects in (`--allowed-namespace`); the chart\n"
        "binds the operator's namespace role in each.",
    }
    out = [
        "# Default values of the seldon-meta-operator chart, generated from the install manifest's objects by",
        "# `make generate` (render/chart.py). With them, `helm template -n <ns>` gives that manifest's objects.",
    ]
    for key, value in values.items():
        comment = comments.get(key)
        if comment:
            out.append("")
            out += [f"# {line}" for line in comment.splitlines()]
        out.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, width=120).rstrip("\n"))
    return "\n".join(out) + "\n"


def _schema(values: Mapping[str, Any]) -> str:
    """values.schema.json: Helm refuses values of the wrong type or an unknown log level, naming the field."""

    def typed(value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"type": "boolean"}
        if isinstance(value, int):
            return {"type": "integer"}
        if isinstance(value, str):
            return {"type": "string"}
        if isinstance(value, list):
            return {"type": "array"}
        return {"type": "object"}

    properties: dict[str, Any] = {key: typed(value) for key, value in values.items()}
    properties["replicas"] = {"type": "integer", "minimum": 0}
    properties["logLevel"] = {"type": "string", "enum": ["info", "debug"]}
    properties["logFormat"] = {"type": "string", "enum": ["json", "text"]}
    properties["allowedNamespaces"] = {"type": "array", "items": {"type": "string", "minLength": 1}}
    properties["image"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["repository"],
        "properties": {
            "repository": {"type": "string", "minLength": 1},
            "tag": {"type": "string"},
            "digest": {"type": "string", "pattern": "^(|sha256:[0-9a-f]{64})$"},
            "pullPolicy": {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]},
        },
    }
    properties["metrics"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "serviceMonitor": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "enabled": {"type": "boolean"},
                    "interval": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
    }
    schema = {
        "$schema": "https://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    return json.dumps(schema, indent=2) + "\n"


def render_chart(
    objects_for: Callable[[str], list[Manifest]],
    namespace: str,
    *,
    metrics_port: int,
    metrics_service: str,
    description: str,
) -> dict[str, str]:
    """The chart's files (path inside the chart -> text) for the install manifest ``objects_for(namespace)``.

    ``objects_for(ns)`` gives the manifest's objects for the operator in namespace ``ns``."""
    real = objects_for(namespace)
    marked = objects_for(NAMESPACE_MARKER)
    swapped = json.loads(json.dumps(marked).replace(NAMESPACE_MARKER, namespace))
    if swapped != real:
        raise ChartError(
            "the install manifest's objects depend on the namespace in a way a text substitution cannot template "
            f"(render/chart.py NAMESPACE_MARKER); made for {NAMESPACE_MARKER!r} they differ from those for "
            f"{namespace!r}"
        )
    if namespace in json.dumps(marked).replace(NAMESPACE_MARKER, ""):
        raise ChartError(f"the objects made for another namespace still name {namespace!r}: it is hard-wired")

    markers = _Markers({})
    files: dict[str, str] = {}
    values: dict[str, Any] = {"namespaceOverride": ""}
    binding = _namespace_role_binding(marked)
    deployment = _deployment(marked)
    manager = _container(deployment["spec"]["template"]["spec"], MANAGER)
    if _flag_value(manager.get("args") or [], "--metrics-port") not in (None, str(metrics_port)):
        raise ChartError(f"the manager's --metrics-port is not {metrics_port} (render/install.py METRICS_PORT)")
    for obj in marked:
        if obj is deployment:
            templated, deployment_values = _template_deployment(obj, markers, metrics_port)
            text = _dump(templated, markers)
            values.update(deployment_values)
        else:
            text = _dump(obj, markers)
        path = _file_name(obj)
        if path in files:
            raise ChartError(f"two objects would share the template {path}")
        files[path] = text
        if obj is binding:
            files["templates/rolebinding-allowed-namespaces.yaml"] = _allowed_namespace_bindings(obj)
    values["metrics"] = {"port": metrics_port, "serviceMonitor": {"enabled": False, "interval": "30s", "labels": {}}}
    ordered = [
        "namespaceOverride",
        "replicas",
        "image",
        "imagePullSecrets",
        "resources",
        "nodeSelector",
        "tolerations",
        "affinity",
        "priorityClassName",
        "logLevel",
        "logFormat",
        "metrics",
        "allowedNamespaces",
    ]
    values = {key: values[key] for key in ordered}
    files["templates/servicemonitor.yaml"] = _service_monitor(marked, metrics_service)
    files["templates/_helpers.tpl"] = HELPERS
    files["values.yaml"] = _values_yaml(values)
    files["values.schema.json"] = _schema(values)
    _repository, tag, _digest = _split_image(manager["image"])
    files["Chart.yaml"] = yaml.safe_dump(
        {
            "apiVersion": "v2",
            "name": CHART_NAME,
            "description": description,
            "type": "application",
            "version": tag,
            "appVersion": tag,
            "home": "https://github.com/seldon-meta-operator/seldon-meta-operator",
            "keywords": ["seldon", "operator", "mlops"],
        },
        sort_keys=False,
    )
    files["templates/NOTES.txt"] = (
        'The Seldon Meta-Operator runs in namespace {{ include "seldon-meta-operator.namespace" . }}.\n'
        'Create a SeldonOperator there, e.g. `kubectl apply -n {{ include "seldon-meta-operator.namespace" . }} '
        "-f examples/minimal.yaml`,\nthen `kubectl wait --for=condition=Ready seldonoperator --all -n "
        '{{ include "seldon-meta-operator.namespace" . }}`.\n'
    )
    return dict(sorted(files.items()))
