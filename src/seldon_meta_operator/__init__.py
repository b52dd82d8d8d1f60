"""Seldon Meta-Operator: one Kubernetes operator for a whole Seldon ML-serving platform."""

__version__ = "0.1.0"
