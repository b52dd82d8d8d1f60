"""Typed API of the SeldonOperator custom resource (pure data)."""
