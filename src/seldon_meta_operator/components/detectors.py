"""Detectors (``enable.detectors``): the Knative Broker ``default`` and the Trigger that feeds the request logger.

Layer: components (pure).

The Broker and the Trigger live in the SeldonOperator's namespace, next to the request logger, and the Trigger's
subscriber is the Service ``seldon-request-logger`` there. The request logger component points Seldon Core's
executors at this broker, and Seldon Deploy's ``REQUEST_LOGGER_NAMESPACE`` at this namespace, so detector
replies go to ``http://seldon-request-logger.<namespace>`` instead of the hard-wired ``seldon-logs`` of the
original (its second known issue). Deploy creates detectors as Knative Services, so Knative Serving is a
prerequisite too. The Trigger has no filter, as upstream: the logger receives requests, responses, feedback and
detector replies.
"""

from __future__ import annotations

from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    ENTERPRISE,
    INSTALL_HINTS,
    Component,
    Layers,
    Manifest,
    Prerequisite,
    RenderContext,
    WiringContext,
    meta,
    obj,
)
from seldon_meta_operator.errors import SpecError

EVENTING_API = "eventing.knative.dev/v1"


def wiring(w: WiringContext) -> Layers:
    # Deploy's Knative features (detectors) only make sense with the broker.
    return {ENTERPRISE: {"seldon": {"knativeEnabled": w.spec.enable.detectors}}}


def render(ctx: RenderContext) -> list[Manifest]:
    values = ctx.enterprise
    api_version = values.str("requestLogger.trigger.apiVersion", EVENTING_API, choices=(EVENTING_API,))
    broker = values.str("requestLogger.trigger.broker", names.BROKER)
    if broker != names.BROKER:
        raise SpecError(
            f"spec.enterprise.values.requestLogger.trigger.broker: the platform's broker is `{names.BROKER}` "
            f"(Seldon Core's executors send to it); remove the key or set it to `{names.BROKER}`"
        )
    broker_obj = obj(
        EVENTING_API,
        "Broker",
        meta(
            names.BROKER,
            ctx.namespace,
            annotations={"eventing.knative.dev/broker.class": "MTChannelBasedBroker"},
        ),
    )
    trigger = obj(
        api_version,
        "Trigger",
        meta(names.TRIGGER, ctx.namespace),
        spec={
            "broker": broker,
            "subscriber": {
                "ref": {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": names.REQUEST_LOGGER,
                    "namespace": ctx.namespace,
                }
            },
        },
    )
    return [broker_obj, trigger]


COMPONENT = Component(
    name="detectors",
    title="Detectors (Knative)",
    enabled=lambda spec: spec.enable.detectors,
    render=render,
    depends_on=("request_logger", "routing"),
    wiring=wiring,
    prerequisites=(Prerequisite("serving.knative.dev", "Service", INSTALL_HINTS["serving.knative.dev"]),),
)
