"""Condition types and reasons of SeldonOperator status, as documented constants.

Layer: api. ``Ready`` is the summary, set only by ``reconcile.status.summarize_ready``; ``Reconciling`` and
``Stalled`` are abnormal-true: present only while True (fluxcd/pkg convention).
"""

from __future__ import annotations

# Condition types.
READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"

# Reasons. One sentence each on when it is used.
SUCCEEDED = "Succeeded"  #: Every enabled component is applied and healthy.
PROGRESSING = "Progressing"  #: Objects are applied; workloads are still rolling out.
INVALID_SPEC = "InvalidSpec"  #: The spec or its values failed validation; fix the spec (Stalled).
RENDER_FAILED = "RenderFailed"  #: Rendering the manifests failed for a reason other than the spec.
APPLY_FAILED = "ApplyFailed"  #: The API server rejected a server-side apply.
APPLY_CONFLICT = "ApplyConflict"  #: Another field manager owns a field we apply; the message names it.
PRUNE_FAILED = "PruneFailed"  #: An object no longer rendered could not be deleted.
DEPENDENCY_NOT_READY = "DependencyNotReady"  #: A component waits for another component or a CRD.
PREREQUISITE_MISSING = "PrerequisiteMissing"  #: A cluster prerequisite (Istio, Knative CRDs) is absent.
HEALTH_CHECK_FAILED = "HealthCheckFailed"  #: A workload reports failure (e.g. Deployment not progressing).
DUPLICATE_PLATFORM = "DuplicatePlatform"  #: Another SeldonOperator already manages the platform (Stalled).
#: A generated credential Secret and its retained copy are both gone while the data they protect remains (Stalled):
#: a new random password would lock the component out of its own data.
CREDENTIALS_LOST = "CredentialsLost"
#: A trial store found the data volumes of a helm-era store it cannot mount (another namespace or StatefulSet name)
#: and started nothing beside them (Stalled); the message names the volumes and the options (render/adoption.py).
VOLUMES_NOT_ADOPTED = "VolumesNotAdopted"
#: (Event) Objects a Helm release installed under our names were taken over in place (render/adoption.py).
ADOPTED = "Adopted"
RECONCILE_ERROR = "ReconcileError"  #: An unexpected error; retried with backoff.
DISABLED = "Disabled"  #: (component) The feature is turned off; its objects are pruned.
