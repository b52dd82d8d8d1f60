"""Pure rendering pipeline: a SeldonOperator in, ordered Kubernetes objects out."""
