"""HTTP API routers of the CP service, one module per resource."""
