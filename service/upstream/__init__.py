"""Upward path."""
