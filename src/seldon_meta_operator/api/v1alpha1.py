"""The SeldonOperator API, group ``operator.seldon.io``, version ``v1alpha1``.

Layer: api (pure data; no I/O). Everything else imports from here; this module imports nothing of ours
but ``errors``.

Field names follow the product documentation's snake_case (``create_gateway``, ``use_internal``). The two
``values`` maps are the only untyped fields: they carry Helm chart values and keep the charts' camelCase keys.
Fields this project adds beyond the product documentation are marked "(added)" in their description and
listed in docs/api.md.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seldon_meta_operator.errors import SpecError, brief

GROUP = "operator.seldon.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "SeldonOperator"
PLURAL = "seldonoperators"
SINGULAR = "seldonoperator"
SHORT_NAMES = ("sop",)

#: Quantity pattern used for storage sizes (a subset of the Kubernetes quantity grammar).
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"


class _Spec(BaseModel):
    """Base of every typed settings model: unknown fields are errors, never silently dropped. Strict types, as the
    API server checks them against the CRD schema: ``analytics: "yes"`` or ``replicas: true`` are errors, not
    coerced, so an offline render accepts exactly what ``kubectl apply`` accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class EnableSpec(_Spec):
    """Which optional features are installed. Seldon Core and Seldon Deploy are always installed."""

    analytics: bool = Field(False, description="Install Seldon Core Analytics (Prometheus and friends).")
    catalogue: bool = Field(False, description="Install the trial PostgreSQL for the model catalogue.")
    payloadstore: bool = Field(
        False, description="Enable payload logging: the request logger and (by default) a trial OpenSearch."
    )
    routing: bool = Field(False, description="Route through Istio: a Gateway and Seldon Deploy's VirtualService.")
    detectors: bool = Field(
        False, description="Knative Broker and Trigger for the request logger, for outlier and drift detectors."
    )


class RoutingSpec(_Spec):
    create_gateway: bool = Field(
        True, description="Create the Istio Gateway seldon-gateway in the SeldonOperator's namespace."
    )


class InternalElasticSpec(_Spec):
    use_internal: bool = Field(
        True,
        description="Install a trial OpenSearch. When false, set enterprise.values.elasticsearch.url "
        "and requestLogger.elasticsearch.* to your own cluster.",
    )
    replicas: int = Field(3, ge=1, le=9, description="(added) Number of trial OpenSearch nodes.")
    storage_size: str = Field(
        "8Gi", pattern=QUANTITY_PATTERN, description="(added) Volume size of each trial OpenSearch node."
    )


class PayloadstoreSpec(_Spec):
    internal_elastic: InternalElasticSpec = Field(default_factory=InternalElasticSpec)


class InternalPostgresSpec(_Spec):
    storage_size: str = Field(
        "8Gi", pattern=QUANTITY_PATTERN, description="(added) Volume size of the trial PostgreSQL."
    )


class CatalogueSpec(_Spec):
    """(added) Settings of the catalogue feature."""

    internal_postgres: InternalPostgresSpec = Field(default_factory=InternalPostgresSpec)


class SecuritySpec(_Spec):
    """(added) What the admin allows beyond the defaults (docs/security.md)."""

    allow_privileged_pods: bool = Field(
        False,
        description='(added) Let values make pods that fail Pod Security "restricted" (privileged, added '
        "capabilities, host namespaces, hostPath, root). Off by default: such values are an InvalidSpec.",
    )


class ValuesSpec(_Spec):
    values: dict[str, Any] = Field(
        default_factory=dict, description="Helm chart values, as in a values file (camelCase keys)."
    )


class SeldonOperatorSpec(_Spec):
    enable: EnableSpec = Field(default_factory=EnableSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    payloadstore: PayloadstoreSpec = Field(default_factory=PayloadstoreSpec)
    catalogue: CatalogueSpec = Field(default_factory=CatalogueSpec)
    core: ValuesSpec = Field(default_factory=ValuesSpec, description="Seldon Core v1 chart values.")
    enterprise: ValuesSpec = Field(default_factory=ValuesSpec, description="Seldon Deploy chart values.")
    analytics: ValuesSpec = Field(
        default_factory=ValuesSpec,
        description="(added) Seldon Core Analytics chart values: the prometheus subchart's keys under "
        "`prometheus.` (retention, scrape interval, volumes, resources, placement); see docs/api.md.",
    )
    security: SecuritySpec = Field(default_factory=SecuritySpec, description="(added) Security opt-ins.")
    retain_data: bool = Field(
        True,
        description="(added) Keep the PersistentVolumeClaims of the trial PostgreSQL and OpenSearch when "
        "their feature is turned off or the SeldonOperator is deleted. Set false to delete them.",
    )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> SeldonOperatorSpec:
        for rule in CROSS_FIELD_RULES:
            if not rule.holds(self):
                raise ValueError(f"{rule.field}: {rule.message}")
        return self

    def values_of(self, root: str) -> dict[str, Any]:
        """The user's chart values of one root (``core``, ``enterprise`` or ``analytics``)."""
        section: ValuesSpec = getattr(self, root)
        return section.values

    @property
    def uses_internal_elastic(self) -> bool:
        return self.enable.payloadstore and self.payloadstore.internal_elastic.use_internal


class CrossFieldRule:
    """One invariant over several fields, enforced twice from one definition: by the pydantic model (offline
    render, CLI) and by a CEL rule in the CRD (the API server). The Python predicate and the CEL text are
    kept side by side so they cannot drift apart unnoticed (tests/unit/test_api.py checks both)."""

    def __init__(self, field: str, message: str, cel: str, predicate: Any) -> None:
        self.field = field
        self.message = message
        self.cel = cel
        self._predicate = predicate

    def holds(self, spec: SeldonOperatorSpec) -> bool:
        return bool(self._predicate(spec))


def _external_elastic_has_url(spec: SeldonOperatorSpec) -> bool:
    if not spec.enable.payloadstore or spec.payloadstore.internal_elastic.use_internal:
        return True
    elastic = spec.enterprise.values.get("elasticsearch")
    return isinstance(elastic, dict) and isinstance(elastic.get("url"), str) and bool(elastic["url"])


CROSS_FIELD_RULES: tuple[CrossFieldRule, ...] = (
    CrossFieldRule(
        field="spec.enable.detectors",
        message="detectors need routing (Istio): set spec.enable.routing: true, or turn detectors off",
        cel="!self.enable.detectors || self.enable.routing",
        predicate=lambda s: not s.enable.detectors or s.enable.routing,
    ),
    CrossFieldRule(
        field="spec.payloadstore.internal_elastic.use_internal",
        message="use_internal: false needs your Elasticsearch: set spec.enterprise.values.elasticsearch.url",
        cel="!self.enable.payloadstore || self.payloadstore.internal_elastic.use_internal || "
        "(has(self.enterprise.values.elasticsearch) && has(self.enterprise.values.elasticsearch.url) && "
        "self.enterprise.values.elasticsearch.url != '')",
        predicate=_external_elastic_has_url,
    ),
)


# --- Bounds on the untyped values maps (issue 8, hostile sizes) --------------------------------------------

#: Deepest nesting of either values map: the map itself is level 1. The upstream charts' values nest 6 deep.
VALUES_MAX_DEPTH = 32
#: Largest compact-JSON size of either values map. The upstream charts' whole values files are about 20 KiB.
VALUES_MAX_BYTES = 64 * 1024
#: Most top-level keys of either values map; also ``maxProperties`` in the CRD, which the API server enforces.
VALUES_MAX_PROPERTIES = 128
_LIMITS_FIX = "keep chart values within the limits in docs/api.md (Limits)"


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2  # quotes; escapes are not counted
    if value is None or isinstance(value, (bool, int, float)):
        return len(json.dumps(value))
    return len(brief(value, 64))  # YAML dates and the like: never huge once shown briefly


def values_bounds_errors(values: Any, path: str) -> list[str]:
    """Errors for a values map deeper, larger or wider than the limits, found by an iterative walk (no recursion,
    so a 5000-deep map cannot raise RecursionError) that stops at the first bound exceeded. Messages name
    ``path`` and never repeat the value."""
    if not isinstance(values, dict):
        return []  # a wrong type is reported by the model
    errors: list[str] = []
    if len(values) > VALUES_MAX_PROPERTIES:
        errors.append(f"{path}: {len(values)} top-level keys, more than {VALUES_MAX_PROPERTIES}; {_LIMITS_FIX}")
    size = 0
    stack: list[tuple[Any, int]] = [(values, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > VALUES_MAX_DEPTH:
                errors.append(f"{path}: nested more than {VALUES_MAX_DEPTH} levels deep; {_LIMITS_FIX}")
                break
            size += 2 + max(len(node) - 1, 0)  # brackets and commas
            if isinstance(node, dict):
                for key, child in node.items():
                    size += _scalar_size(key) + 1
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
        else:
            size += _scalar_size(node)
        if size > VALUES_MAX_BYTES:
            errors.append(f"{path}: larger than {VALUES_MAX_BYTES // 1024} KiB as JSON; {_LIMITS_FIX}")
            break
    return errors


def spec_bounds_errors(spec: Any, prefix: str = "spec") -> list[str]:
    """Bounds errors of every values map (``spec.<section>.values``: core, enterprise and any other) of a raw
    ``spec`` mapping, before the model sees it."""
    if not isinstance(spec, dict):
        return []
    errors: list[str] = []
    for root, section in spec.items():
        if isinstance(section, dict) and "values" in section:
            errors += values_bounds_errors(section["values"], f"{prefix}.{str(root)[:64]}.values")
    return errors


class Condition(BaseModel):
    """The fields of metav1.Condition."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = ""
    lastTransitionTime: str  # noqa: N815 - Kubernetes field name
    observedGeneration: int | None = None  # noqa: N815


class ComponentStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool
    ready: bool
    reason: str
    message: str = ""
    objects: int = 0


class SeldonOperatorStatus(BaseModel):
    """Written by the operator once per reconcile, only when it changed. camelCase, as Kubernetes status."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    observedGeneration: int | None = None  # noqa: N815
    conditions: list[Condition] = Field(default_factory=list)
    components: dict[str, ComponentStatus] = Field(default_factory=dict)
    enabledComponents: str = Field("", description="Comma-separated enabled components (printer column).")  # noqa: N815
    inventory: dict[str, list[str]] = Field(
        default_factory=dict, description="Applied objects per component, as group/Kind/namespace/name; drives pruning."
    )
    optIns: list[str] = Field(  # noqa: N815
        default_factory=list,
        description="Security opt-ins in force, as spec paths (docs/security.md).",
    )
    warnings: list[str] = Field(
        default_factory=list, description="What the spec probably did not mean (unknown values, a missing store)."
    )


class ObjectMeta(BaseModel):
    """The parts of metadata we read. Everything else is kept but not interpreted."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str = "default"
    generation: int | None = None
    uid: str | None = None


class SeldonOperator(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    apiVersion: Literal["operator.seldon.io/v1alpha1"]  # noqa: N815 - Kubernetes field name
    kind: Literal["SeldonOperator"]
    metadata: ObjectMeta
    spec: SeldonOperatorSpec = Field(default_factory=SeldonOperatorSpec)


# --- Parsing with errors that name the field and the fix -------------------------------------------------


def _loc_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            # A key is user text: a huge one is shown briefly, without quotes (issue 8).
            parts.append(("." if parts else "") + (item if len(item) <= 64 else brief(item, 64).strip("'\"")))
    return "".join(parts)


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for suggestions), or None under untyped maps."""
    current: type[BaseModel] | None = model
    for item in loc:
        if current is None or not isinstance(item, str) or item not in current.model_fields:
            return None
        annotation = current.model_fields[item].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return current


def nearest(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The closest candidate to ``word`` by edit similarity, or None if nothing is close."""
    found = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def describe_validation_error(exc: ValidationError, root: type[BaseModel], prefix: str) -> list[str]:
    """Readable one-line messages, each naming the field (``spec.enable.analytic``) and the fix."""
    messages: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = ".".join(p for p in (prefix, _loc_path(loc)) if p)
        if err["type"] == "extra_forbidden":
            owner = _model_at(root, loc[:-1])
            known = list(owner.model_fields) if owner else []
            hint = nearest(str(loc[-1]), known) if known and len(str(loc[-1])) <= 64 else None
            fix = f"did you mean `{hint}`?" if hint else f"valid fields here: {', '.join(sorted(known))}"
            messages.append(f"{path}: unknown field; {fix}")
        elif err["type"] == "value_error":
            # Our cross-field rules already start with the field path.
            messages.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            got = err.get("input")
            shown = "" if isinstance(got, (dict, list)) else f" (got {brief(got)})"
            messages.append(f"{path or prefix}: {err['msg']}{shown}")
    return messages


#: The top-level fields of a SeldonOperator object.
TOP_LEVEL_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")


def parse_seldon_operator(document: Any, source: str = "input") -> SeldonOperator:
    """Validate a whole SeldonOperator document. Raises SpecError listing every problem."""
    if not isinstance(document, dict):
        raise SpecError(f"{source}: expected a SeldonOperator mapping, got {type(document).__name__}")
    if document.get("apiVersion") != API_VERSION or document.get("kind") != KIND:
        raise SpecError(
            f"{source}: expected apiVersion: {API_VERSION} and kind: {KIND}, "
            f"got {brief(document.get('apiVersion'))} / {brief(document.get('kind'))}"
        )
    # The model keeps extra top-level keys (kopf bodies carry more), but a user's manifest with, say, ``spce:``
    # must not render an empty platform in silence: the API server would reject the field too.
    unknown = [str(k) for k in document if k not in TOP_LEVEL_FIELDS]
    if unknown:
        problems = []
        for key in unknown:
            hint = nearest(key, TOP_LEVEL_FIELDS) if len(key) <= 64 else None
            fix = f"did you mean `{hint}`?" if hint else f"valid fields here: {', '.join(TOP_LEVEL_FIELDS)}"
            problems.append(f"{key if len(key) <= 64 else brief(key, 64)}: unknown field; {fix}")
        raise SpecError(f"{source}: " + "; ".join(problems))
    spec = document.get("spec")
    if spec is None:
        document = {**document, "spec": {}}
    if bounds := spec_bounds_errors(spec):  # first: nothing below walks an unbounded tree
        raise SpecError(f"{source}: " + "; ".join(bounds))
    try:
        return SeldonOperator.model_validate(document)
    except ValidationError as exc:
        raise SpecError(source + ": " + "; ".join(describe_validation_error(exc, SeldonOperator, ""))) from None


def parse_spec(spec: Any, source: str = "spec") -> SeldonOperatorSpec:
    """Validate a ``spec`` mapping alone (what the operator receives from kopf)."""
    if bounds := spec_bounds_errors(spec, source):  # first: nothing below walks an unbounded tree
        raise SpecError("; ".join(bounds))
    try:
        return SeldonOperatorSpec.model_validate(spec or {})
    except ValidationError as exc:
        raise SpecError("; ".join(describe_validation_error(exc, SeldonOperatorSpec, source))) from None
