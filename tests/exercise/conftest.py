"""Exercise tests use several databases (CP and region): the upward path's fixture."""

from tests.upstream.conftest import make_database_url

__all__ = ["make_database_url"]
