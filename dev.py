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
    steps: list[tuple[list[str], dict[str, str]]] = [
        ([str(BIN / "ruff"), "check", "."], {}),
        ([str(BIN / "ruff"), "format", "--check", "."], {}),
        ([str(BIN / "mypy")], {}),
        ([str(BIN / "lint-imports")], {}),
        ([str(PY), "-m", "pytest", *args], {"NOODNET_TEST_DB": "sqlite"}),
    ]
    if postgres_reachable() or os.environ.get("CI"):
        steps.append(([str(PY), "-m", "pytest", *args], {"NOODNET_TEST_DB": "postgres"}))
    else:
        print("PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL pass is skipped")
    failed = [" ".join([Path(c[0]).name, *c[1:3]]) for c, env in steps if run(c, env) != 0]
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
