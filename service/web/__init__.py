"""Pages served by the service (the crisis-room dashboard) and the data they read."""
