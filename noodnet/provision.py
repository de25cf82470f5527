"""``noodnet provision``: give an NSP its identity (or take it away).

An NSP's broker identity is a line in Mosquitto's password file: username = NSP id, so the
pattern rules of the ACL (``deploy/mosquitto/acl.example``, ``%u``) confine it to its own
topics. Provisioning registers the NSP at the CP service (admin token), writes the line, tells
the broker to re-read its files (SIGHUP) and prints the gateway's env file. Revoking removes
the line, reloads the broker (which then drops the NSP's open connection) and revokes the
NSP's API tokens at the service.

Password hashes are written in Mosquitto 2's own format (PBKDF2-SHA512, ``$7$``), so the
command does not need ``mosquitto_passwd`` on the machine. The password is 192 random bits:
a slow hash would add nothing but CPU per CONNECT, so Mosquitto's default iteration count is
kept.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default


def new_password() -> str:
    return secrets.token_urlsafe(24)


def mosquitto_hash(
    password: str, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """``$7$<iterations>$<salt>$<hash>`` as written by mosquitto_passwd (Mosquitto >= 2.0)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, encoded: str) -> bool:
    _, alg, iterations, salt, digest = encoded.split("$")
    if alg != "7":
        raise ValueError(f"unsupported mosquitto hash type ${alg}$")
    expected = hashlib.pbkdf2_hmac(
        "sha512", password.encode("utf-8"), base64.b64decode(salt), int(iterations)
    )
    return secrets.compare_digest(expected, base64.b64decode(digest))


class PasswdFile:
    """Mosquitto's password file: ``user:hash`` lines. Rewritten atomically (temp + rename),
    keeping its mode, so the broker never reads a half-written file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        entries: dict[str, str] = {}
        for line in self.path.read_text().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, _, hashed = line.partition(":")
            entries[user] = hashed
        return entries

    def _write(self, entries: dict[str, str]) -> None:
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o640
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".passwd-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.writelines(f"{u}:{h}\n" for u, h in entries.items())
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def set(self, user: str, password: str) -> None:
        if ":" in user or "\n" in user:
            raise ValueError(f"invalid broker username {user!r}")
        entries = self.read()
        entries[user] = mosquitto_hash(password)
        self._write(entries)

    def remove(self, user: str) -> bool:
        entries = self.read()
        if user not in entries:
            return False
        del entries[user]
        self._write(entries)
        return True


def reload_broker(pid_file: Path | None = None, command: str | None = None) -> str:
    """Make Mosquitto re-read password file and ACL (SIGHUP); returns what was done."""
    if command:
        subprocess.run(command, shell=True, check=True)
        return f"ran: {command}"
    if pid_file is not None:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
        return f"sent SIGHUP to mosquitto (pid {pid})"
    return "broker NOT reloaded: run 'systemctl reload mosquitto' (or send it SIGHUP)"


def acl_entries(cp_id: str, nsp_id: str) -> list[str]:
    """What the ACL's pattern rules grant this NSP (for the operator to check)."""
    base = f"noodnet/v1/{cp_id}"
    return [
        f"write {base}/nsp/{nsp_id}/up/#",
        f"write {base}/nsp/{nsp_id}/status",
        f"read  {base}/nsp/{nsp_id}/down/#",
        f"read  {base}/bulletin/#",
    ]


@dataclass
class GatewayEnv:
    nsp_id: str
    cp_id: str
    mqtt_host: str
    mqtt_port: int
    mqtt_password: str
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    short_code: str | None = None  # on radio cards and short forms (docs/fallback.md)
    transfer_key: str | None = None  # signs USB-stick files (docs/fallback.md)

    def render(self) -> str:
        lines = [
            f"# /etc/noodnet/{self.nsp_id}.env - gateway of NSP {self.nsp_id} (mode 0640; "
            "holds its broker password)",
            f"NOODNET_NSP_ID={self.nsp_id}",
            f"NOODNET_CP_ID={self.cp_id}",
            f"NOODNET_MQTT_HOST={self.mqtt_host}",
            f"NOODNET_MQTT_PORT={self.mqtt_port}",
            f"NOODNET_MQTT_USERNAME={self.nsp_id}",
            f"NOODNET_MQTT_PASSWORD={self.mqtt_password}",
        ]
        for key, value in (
            ("NOODNET_MQTT_CA_FILE", self.mqtt_ca_file),
            ("NOODNET_MQTT_CERT_FILE", self.mqtt_cert_file),
            ("NOODNET_MQTT_KEY_FILE", self.mqtt_key_file),
            ("NOODNET_SHORT_CODE", self.short_code),
            ("NOODNET_TRANSFER_KEY", self.transfer_key),
        ):
            if value:
                lines.append(f"{key}={value}")
        return "\n".join(lines) + "\n"


class ServiceClient:
    """The CP service's admin API, as provisioning uses it."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )

    def register(self, nsp_id: str, registration: dict[str, Any]) -> dict[str, Any]:
        r = self.http.put(f"/api/v1/nsps/{nsp_id}", json=registration)
        _raise(r, f"registering NSP {nsp_id}")
        return dict(r.json())

    def setup_fallback(self, nsp_id: str, short_code: str | None) -> dict[str, Any]:
        """Short code (kept, or set) and a new transfer key for the NSP's USB-stick files."""
        body: dict[str, Any] = {"new_key": True}
        if short_code:
            body["short_code"] = short_code
        r = self.http.put(f"/api/v1/fallback/nsps/{nsp_id}", json=body)
        _raise(r, f"setting up the fallback channels of NSP {nsp_id}")
        return dict(r.json())

    def revoke(self, nsp_id: str) -> dict[str, Any]:
        r = self.http.post(f"/api/v1/auth/nsps/{nsp_id}/revoke")
        _raise(r, f"revoking NSP {nsp_id}")
        return dict(r.json())

    def close(self) -> None:
        self.http.close()


class ProvisionError(Exception):
    pass


def _raise(r: httpx.Response, what: str) -> None:
    if r.is_success:
        return
    try:
        detail = r.json().get("detail", r.text)
    except ValueError:
        detail = r.text
    raise ProvisionError(f"{what}: the CP service answered {r.status_code}: {detail}")
