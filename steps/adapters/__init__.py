"""Adapters: the only code that talks to AWS, Kubernetes, GitHub, helm, terraform or HTTPS."""
