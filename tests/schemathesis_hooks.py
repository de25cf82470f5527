"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by tests/test_schemathesis.py).

A gateway token may only post messages of its own NSP; random ``nsp_id`` values would only
ever reach the 403. With ``NOODNET_ST_NSP`` set, generated upward messages carry that NSP id
so the fuzzing also reaches validation, storage and the 201/200 answers.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    nsp = os.environ.get("NOODNET_ST_NSP")
    if nsp and isinstance(body, dict) and "nsp_id" in body:
        body["nsp_id"] = nsp
    return body
