"""The BaaS HTTP API: FastAPI routes over the application layer and the control plane (docs/api.md)."""
