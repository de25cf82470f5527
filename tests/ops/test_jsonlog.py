"""Structured logs: with NOODNET_LOG_FORMAT=json every line is one JSON object, and a line about
a message carries its message_id and nsp_id (given as ``extra``, by ``log_context`` in this
thread, or process-wide for a gateway), also from other threads; a bad format value is named
and logging goes on as text."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading

import pytest

from noodcore import jsonlog
from noodcore.jsonlog import install, log_context
from tests.support import ROOT


@pytest.fixture
def root() -> tuple[logging.Logger, io.StringIO]:
    logger = logging.getLogger("noodnet-test-jsonlog")
    logger.handlers.clear()
    logger.propagate = False
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    logger.setLevel(logging.INFO)
    return logger, stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_ids(root: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = root
    install("json", logger)
    logger.info("no message here")
    logger.info("stored %s", "x", extra={"message_id": "01ABC", "nsp_id": "nsp-a"})
    with log_context(message_id="01DEF", nsp_id="nsp-b"):
        logger.warning("rejected: %s", "bad body")
        with log_context(message_id="01GHI"):
            logger.info("inner")
    out: list[str] = []
    t = threading.Thread(target=lambda: (logger.info("other thread"), out.append("ok")))
    with log_context(message_id="01XYZ"):
        t.start()
        t.join()
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"nsp_id": "nsp-c"})
    got = lines(stream)
    assert "message_id" not in got[0] and got[0]["msg"] == "no message here"
    assert got[1]["message_id"] == "01ABC" and got[1]["nsp_id"] == "nsp-a"
    assert got[2] == {**got[2], "level": "WARNING", "message_id": "01DEF", "nsp_id": "nsp-b"}
    assert got[3]["message_id"] == "01GHI" and got[3]["nsp_id"] == "nsp-b"
    assert "message_id" not in got[4]  # a thread does not inherit another's context
    assert got[5]["nsp_id"] == "nsp-c" and "ValueError: boom" in str(got[5]["exc"])


def test_process_ids_reach_every_thread(root: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = root
    install("json", logger)
    jsonlog.set_process_ids(nsp_id="nsp-gw")
    try:
        t = threading.Thread(target=lambda: logger.info("from the publisher thread"))
        t.start()
        t.join()
        with log_context(message_id="01M"):
            logger.info("about a message")
    finally:
        jsonlog._process.clear()
    got = lines(stream)
    assert got[0]["nsp_id"] == "nsp-gw" and got[1] == {**got[1], "message_id": "01M"}


def test_text_format_shows_ids_at_the_end(root: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = root
    install("text", logger)
    logger.info("stored", extra={"message_id": "01ABC", "nsp_id": "nsp-a"})
    logger.info("plain")
    first, second = stream.getvalue().splitlines()
    assert first.endswith("stored [message_id=01ABC nsp_id=nsp-a]")
    assert second.endswith("plain")


def test_a_command_logs_json_and_a_bad_format_is_named() -> None:
    code = (
        "import logging; from noodcore.logs import setup_logging; setup_logging();"
        "logging.getLogger('x').info('hello', extra={'nsp_id': 'nsp-a'})"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOODNET_LOG_FORMAT": "json"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    line = json.loads(r.stderr.strip().splitlines()[-1])
    assert line["msg"] == "hello" and line["nsp_id"] == "nsp-a" and line["logger"] == "x"
    env["NOODNET_LOG_FORMAT"] = "yaml"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0
    assert "NOODNET_LOG_FORMAT='yaml' is not 'text' or 'json'" in r.stderr
    assert r.stderr.strip().endswith("x: hello [nsp_id=nsp-a]")
