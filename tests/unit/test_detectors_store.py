"""Detectors without a payload store: the request logger is the Trigger's subscriber and runs, but nothing
installs the chart's default store, so a render says so, naming `spec.enable.detectors` and both fixes; a store
named in values is used as the logger's, without a warning."""

from __future__ import annotations

import pytest
from tests.builders import Modifier, enable, enterprise_values, env, external_elastic, find, platform, render

LOGGER = "seldon-request-logger"
WARNING = "spec.enable.detectors: no payload store"


@pytest.mark.parametrize(
    "mods",
    [(enable("routing", "detectors"),)],
    ids=["detectors alone (the seed's section, on its own)"],
)
def test_detectors_without_a_store_warn_naming_the_field_and_both_fixes(mods: tuple[Modifier, ...]) -> None:
    warnings = [w for w in render(platform(*mods)).warnings if w.startswith(WARNING)]
    assert len(warnings) == 1
    assert "spec.enable.payloadstore: true" in warnings[0]
    assert "spec.enterprise.values.requestLogger.elasticsearch.host" in warnings[0]


@pytest.mark.parametrize(
    "mods",
    [
        (enable("routing", "detectors", "payloadstore"),),
        (enable("routing", "detectors", "payloadstore"), external_elastic()),
        (enable("routing", "payloadstore"),),
        (enable("routing"),),
    ],
    ids=[
        "detectors with the trial OpenSearch",
        "detectors with an external store",
        "payload logging without detectors",
        "no detectors",
    ],
)
def test_no_warning_when_a_store_is_there_or_detectors_are_off(mods: tuple[Modifier, ...]) -> None:
    assert not [w for w in render(platform(*mods)).warnings if w.startswith(WARNING)]


def test_a_store_named_in_values_is_the_loggers_and_silences_the_warning() -> None:
    doc = platform(
        enable("routing", "detectors"),
        enterprise_values({"requestLogger": {"elasticsearch": {"host": "es.logs.svc", "port": 9243}}}),
    )
    result = render(doc)
    assert not [w for w in result.warnings if w.startswith(WARNING)]
    logger = env(find(result.manifests, "Deployment", LOGGER))
    assert logger["ELASTICSEARCH_HOST"] == "es.logs.svc"
    assert logger["ELASTICSEARCH_PORT"] == "9243"
