"""Noodnet CP service (also the region role): ingest → store → API."""
