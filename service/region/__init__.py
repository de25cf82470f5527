"""Region role: the upstream for several CPs (intake, regional picture). See docs/upstream.md."""
