"""Object names that cross component boundaries. Components never import each other; what one component
creates and another wires to is named here once.

Layer: components (pure constants). Names match the product documentation's "Verification" sections.
"""

from __future__ import annotations

# Seldon Core v1
CORE_MANAGER = "seldon-controller-manager"
CORE_WEBHOOK_SERVICE = "seldon-webhook-service"
CORE_WEBHOOK_SECRET = "seldon-webhook-server-cert"
SELDON_DEPLOYMENT_CRD = "seldondeployments.machinelearning.seldon.io"

# Seldon Deploy
DEPLOY = "seldon-deploy"
DEPLOY_PREFIX = "/seldon-deploy/"

# Analytics (release "seldon-core-analytics")
ANALYTICS_RELEASE = "seldon-core-analytics"
PROMETHEUS = f"{ANALYTICS_RELEASE}-prometheus-seldon"  # Service port 80
ALERTMANAGER = f"{ANALYTICS_RELEASE}-prometheus-alertmanager"  # Service port 80

# Trial PostgreSQL (catalogue)
POSTGRES = "seldon-internal-postgres-postgresql"
POSTGRES_PORT = 5432
POSTGRES_DATABASE = "metadata"
POSTGRES_USER = "seldon"
METADATA_POSTGRES_SECRET = "metadata-postgres"

# Trial OpenSearch (payload store)
OPENSEARCH = "seldon-internal-opensearch-cluster-master"
OPENSEARCH_PORT = 9200
ELASTIC_SECRET = "elastic-credentials"

# Routing (Istio)
GATEWAY = "seldon-gateway"

# Request logging and detectors (Knative)
REQUEST_LOGGER = "seldon-request-logger"
TRIGGER = "seldon-request-logger-trigger"
BROKER = "default"
BROKER_INGRESS = "http://broker-ingress.knative-eventing.svc.cluster.local"


def broker_url(namespace: str) -> str:
    """URL of the multi-tenant channel-based broker ``default`` in ``namespace``."""
    return f"{BROKER_INGRESS}/{namespace}/{BROKER}"


def request_logger_url(namespace: str) -> str:
    """URL of the request logger Service (port 80); also Deploy's default detector reply URL."""
    return f"http://{REQUEST_LOGGER}.{namespace}.svc.cluster.local"
