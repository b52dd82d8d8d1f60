"""Routing (``enable.routing``): the Istio Gateway ``seldon-gateway`` and Seldon Deploy's VirtualService.

Layer: components (pure).

- The Gateway is created in the SeldonOperator's namespace unless ``routing.create_gateway: false``; then the
  user names their own gateway in ``core.values.istio.gateway`` and ``enterprise.values.virtualService.gateways``
  (the seed's custom-gateway example).
- Wiring: Seldon Core's ``istio.enabled`` and ``istio.gateway``, and Deploy's VirtualService gateways default to
  the created gateway. User values still win (render/values.py).
- Declares the Deploy chart's ``virtualService.*`` keys, which it renders; Seldon Deploy reads ``prefix`` too.
"""

from __future__ import annotations

from typing import Any

from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    ENTERPRISE,
    Component,
    Layers,
    Manifest,
    RenderContext,
    ValuesSchema,
    WiringContext,
    meta,
    obj,
)

ISTIO_API = "networking.istio.io/v1beta1"

DEFAULTS: dict[str, Any] = {
    "virtualService": {
        "create": True,
        "prefix": names.DEPLOY_PREFIX,
        "gateways": ["istio-system/seldon-gateway"],
    },
}


def created_gateway(namespace: str) -> str:
    return f"{namespace}/{names.GATEWAY}"


def wiring(w: WiringContext) -> Layers:
    if not w.spec.enable.routing:
        # Without Istio there is nothing to bind a VirtualService to; Deploy is reached through its Service.
        return {ENTERPRISE: {"virtualService": {"create": False}}}
    if not w.spec.routing.create_gateway:
        return {"core": {"istio": {"enabled": True}}}
    gateway = created_gateway(w.namespace)
    return {
        "core": {"istio": {"enabled": True, "gateway": gateway}},
        ENTERPRISE: {"virtualService": {"gateways": [gateway]}},
    }


def render_gateway(ctx: RenderContext) -> Manifest:
    return obj(
        ISTIO_API,
        "Gateway",
        meta(names.GATEWAY, ctx.namespace),
        spec={
            "selector": {"istio": "ingressgateway"},
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    )


def render_virtual_service(ctx: RenderContext) -> Manifest:
    values = ctx.enterprise
    gateways = values.list("virtualService.gateways")
    for i, gateway in enumerate(gateways):
        if not isinstance(gateway, str) or not gateway:
            raise values.error(f"virtualService.gateways[{i}]", "a gateway name `namespace/name`", gateway)
    prefix = values.str("virtualService.prefix")
    if not prefix.startswith("/"):
        raise values.error("virtualService.prefix", "a path starting with /", prefix)
    return obj(
        ISTIO_API,
        "VirtualService",
        meta(names.DEPLOY, ctx.namespace),
        spec={
            "gateways": gateways,
            "hosts": ["*"],
            "http": [
                {
                    "match": [{"uri": {"prefix": prefix}}],
                    "route": [
                        {
                            "destination": {
                                "host": f"{names.DEPLOY}.{ctx.namespace}.svc.cluster.local",
                                "port": {"number": values.int("service.port", 80)},
                            }
                        }
                    ],
                }
            ],
        },
    )


def render(ctx: RenderContext) -> list[Manifest]:
    out: list[Manifest] = []
    if ctx.spec.routing.create_gateway:
        out.append(render_gateway(ctx))
    if ctx.enterprise.bool("virtualService.create"):
        out.append(render_virtual_service(ctx))
    return out


COMPONENT = Component(
    name="routing",
    title="Routing (Istio)",
    enabled=lambda spec: spec.enable.routing,
    render=render,
    depends_on=("seldon_deploy",),
    values=(ValuesSchema(root=ENTERPRISE, defaults=DEFAULTS),),
    wiring=wiring,
)
