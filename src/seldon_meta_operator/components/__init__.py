"""Components of the platform, one module each, and REGISTRY in dependency order.

Layer: components (pure). To add a component: write ``components/<name>.py`` exposing ``COMPONENT``, add it
here, add typed settings to ``api/v1alpha1.py`` if needed, and two golden cases (docs/architecture.md).
"""

from __future__ import annotations

from seldon_meta_operator.components import (
    analytics,
    detectors,
    opensearch,
    postgres,
    request_logger,
    routing,
    seldon_core,
    seldon_deploy,
)
from seldon_meta_operator.components.base import Component

#: Every component, enabled or not, in dependency order (each after what it depends on).
REGISTRY: tuple[Component, ...] = (
    seldon_core.COMPONENT,
    analytics.COMPONENT,
    postgres.COMPONENT,
    opensearch.COMPONENT,
    request_logger.COMPONENT,
    seldon_deploy.COMPONENT,
    routing.COMPONENT,
    detectors.COMPONENT,
)


def component_names() -> tuple[str, ...]:
    return tuple(c.name for c in REGISTRY)
