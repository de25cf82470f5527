"""Must show 3: schemathesis over the OpenAPI documents of the CP service and the gateway,
served by the real processes (uvicorn): no 5xx, and every response matches the documented
status codes, content types, headers and schemas.

By hand (any running CP, token in $TOKEN):

    .venv/bin/schemathesis run http://127.0.0.1:8080/openapi.json \
        -H "Authorization: Bearer $TOKEN" --checks not_a_server_error,status_code_conformance,\
content_type_conformance,response_schema_conformance,response_headers_conformance

Not checked: schemathesis' API-strictness heuristics (``positive_data_acceptance``: e.g. the
gateway documents ``kind`` as a string but rejects unknown kinds with a 422 naming the field;
``negative_data_rejection``: pydantic accepts ``0`` for a boolean). ``unsupported_method``
is checked: every 405 lists all methods of its path (noodcore.httpguard.allow_every_method;
walked over every route by tests/test_http_edges.py).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import test_db_kind as db_kind
from tests.support import ROOT, Mosquitto, Proc, cp_process, gateway_process, issue_cp_token

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "unsupported_method",
    ]
)
SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"
# The CP's per-operation settings (its live event stream).
CP_CONFIG = ROOT / "tests" / "schemathesis.toml"


def schemathesis(
    tmp: Path,
    url: str,
    token: str,
    *extra: str,
    env: dict[str, str] | None = None,
    config: Path | None = None,
) -> None:
    binary = str(SCHEMATHESIS) if SCHEMATHESIS.exists() else "schemathesis"
    out = subprocess.run(
        [
            binary, *(["--config-file", str(config)] if config else []),
            "run", f"{url}/openapi.json",
            "-H", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--max-examples", "10",
            "--phases", "examples,coverage,fuzzing",
            "--seed", "20261123",
            "--generation-database", "none",
            "--report-dir", str(tmp / "schemathesis"),
            *extra,
        ],
        # Run in the test's directory: schemathesis keeps a cache in its working directory.
        # The CP's API has about 140 operations now: a budget that a loaded CI machine meets.
        cwd=tmp, capture_output=True, text=True, timeout=1200,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
            **(env or {}),
        },
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-8000:] + out.stderr[-2000:]
    summary = out.stdout.split("SUMMARY")[-1]
    # "N generated, N passed": every generated case passed every check.
    assert re.search(r"(\d+) generated, \1 passed", summary), summary


@pytest.fixture
def cp(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[Proc]:
    proc = cp_process(tmp_path, broker, database_url).start("/readyz")
    try:
        yield proc
    finally:
        proc.stop()


def test_schemathesis_cp_service(cp: Proc, database_url: str, tmp_path: Path) -> None:
    assert cp.token is not None
    # Admin: every operation (POST /messages answers it 403, as documented).
    # Revoking is left for last: a generated token id can be the admin token's own, and every
    # later case would then get only 401s (45 operations did, unnoticed, before this).
    revokes = ["/api/v1/auth/nsps/{nsp_id}/revoke", "/api/v1/auth/tokens/{token_id}/revoke"]
    schemathesis(
        tmp_path,
        cp.url,
        cp.token,
        *(a for p in revokes for a in ("--exclude-path", p)),
        config=CP_CONFIG,
    )
    # A gateway posting its own NSP's messages: validation, storage, duplicates, 429.
    gw = issue_cp_token(database_url, "gateway", "nsp-st")
    schemathesis(
        tmp_path,
        cp.url,
        gw,
        # One filter: --include-path with --include-method selects either (every POST).
        "--include-name",
        "POST /api/v1/messages",
        env={"NOODNET_ST_NSP": "nsp-st"},
    )
    # Revoking last: it must not revoke the gateway token above, nor the admin's, mid-run.
    schemathesis(tmp_path, cp.url, cp.token, *(a for p in revokes for a in ("--include-path", p)))


@pytest.mark.skipif(
    db_kind() == "postgres", reason="the gateway has no CP database: the SQLite pass covers it"
)
def test_schemathesis_gateway(tmp_path: Path, broker: Mosquitto) -> None:
    gw = gateway_process(tmp_path, broker, "nsp-st").start()
    try:
        assert gw.token is not None
        schemathesis(tmp_path, gw.url, gw.token)
    finally:
        gw.stop()
