"""kopf glue: thin handlers that call reconcile/. The only package that imports kopf."""
