"""conveyor: run Argo Workflows manifests on one machine, with no Kubernetes."""

__all__ = ["__version__"]
__version__ = "0.1.0"
