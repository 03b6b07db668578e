"""The thin HTTP layer: FastAPI app factory (``app``), routes per kind of page, negotiation in one module."""
