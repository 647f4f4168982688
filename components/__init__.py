"""Kubeflow Pipelines components: thin entry points into the runner core (one module per component)."""
