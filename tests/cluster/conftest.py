"""Fixtures for several CP processes on one database: fresh databases per name."""

from tests.upstream.conftest import make_database_url as make_database_url
