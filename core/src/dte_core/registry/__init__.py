"""The model registry (MLflow Model Registry): model packages, URIs, register, resolve."""
