#!/usr/bin/env python3
"""Bootstrap and run Noodnet from a fresh clone with nothing but Python >= 3.11.

    python3 dev.py demo     the whole system on this machine (broker, CP, gateways, scenario)
    python3 dev.py test     lint, type check, and the test suite on SQLite and PostgreSQL

It creates ``.venv`` and installs the project into it (again only when pyproject.toml
changed); everything else is ``noodnet`` and ``pytest`` inside that venv.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".noodnet-installed"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may be run by an older python3)
        sys.exit(f"Python >= 3.11 is required, this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want:
        return
    print("installing noodnet and its dependencies into .venv ...", flush=True)
    subprocess.run(
        [str(PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", ".[dev,demo]"],
        cwd=ROOT,
        check=True,
    )
    STAMP.write_text(want)


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}).returncode


def test(args: list[str]) -> int:
    """Lint and type checks, then the suite on SQLite and on PostgreSQL.

    The two database passes run at the same time (each test makes its own SQLite file or
    PostgreSQL database, broker and processes on ports they bind themselves, so they share
    nothing): most tests wait on real processes, and two passes side by side fit the wall
    clock of about one. The SQLite pass prints as it goes; the PostgreSQL pass's output
    follows when both are done. ``NOODNET_TEST_SERIAL=1`` runs them one after the other.
    """
    checks: list[list[str]] = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
    ]
    failed = [" ".join([Path(c[0]).name, *c[1:3]]) for c in checks if run(c) != 0]
    # The 25 slowest tests in the summary: where the suite's wall clock goes.
    pytest = [str(PY), "-m", "pytest", "--durations=25", *args]
    with_pg = postgres_reachable() or bool(os.environ.get("CI"))
    if not with_pg:
        print("PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL pass is skipped")
    # Which passes run: a test of the HTTP contract runs in one of them (tests/conftest.py).
    passes = {"NOODNET_TEST_PASSES": "sqlite,postgres" if with_pg else "sqlite"}
    if not with_pg or os.environ.get("NOODNET_TEST_SERIAL") == "1":
        steps = [("SQLite", "sqlite"), ("PostgreSQL", "postgres")][: 2 if with_pg else 1]
        failed += [
            f"pytest ({name})"
            for name, db in steps
            if run(pytest, {"NOODNET_TEST_DB": db, **passes})
        ]
    else:
        with tempfile.TemporaryFile() as pg_log:
            print("$ NOODNET_TEST_DB=postgres", " ".join(pytest), "(alongside)", flush=True)
            pg = subprocess.Popen(
                pytest,
                cwd=ROOT,
                env={**os.environ, "NOODNET_TEST_DB": "postgres", **passes},
                stdout=pg_log,
                stderr=subprocess.STDOUT,
            )
            if run(pytest, {"NOODNET_TEST_DB": "sqlite", **passes}) != 0:
                failed.append("pytest (SQLite)")
            code = pg.wait()
            pg_log.seek(0)
            print("\n===== the PostgreSQL pass =====", flush=True)
            sys.stdout.buffer.write(pg_log.read())
            sys.stdout.flush()
            if code != 0:
                failed.append("pytest (PostgreSQL)")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print("all checks passed")
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "demo":
        return run([str(BIN / "noodnet"), "demo", *rest])
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
