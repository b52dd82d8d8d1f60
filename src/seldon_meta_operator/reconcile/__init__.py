"""Reconcile: apply, prune, health and status. The only layer that sequences I/O."""
