"""A local Mosquitto that runs the production files of ``deploy/mosquitto/`` unchanged but for
paths and ports: password file, ACL, limits and (optionally) the TLS listener with client
certificates. Used by the broker tests and the flood benchmark, so what is tested is what
a CP runs.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from noodnet.broker import LIMITS, ROOT, LocalBroker, free_port

DEPLOY = ROOT / "deploy" / "mosquitto"
CONF = DEPLOY / "mosquitto.conf"
ACL = DEPLOY / "acl.example"


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def render_production_conf(
    workdir: Path, port: int, tls: TlsFiles | None = None, tls_port: int | None = None
) -> str:
    """deploy/mosquitto/mosquitto.conf with paths under ``workdir`` and local ports."""
    text = CONF.read_text()
    etc = "/etc/mosquitto"
    subs = {
        "listener 1883\n": f"listener {port} 127.0.0.1\n",
        f"password_file {etc}/noodnet.passwd\n": f"password_file {workdir}/noodnet.passwd\n",
        f"acl_file {etc}/noodnet.acl\n": f"acl_file {workdir}/noodnet.acl\n",
        "persistence_location /var/lib/mosquitto/\n": f"persistence_location {workdir}/\n",
        "log_dest file /var/log/mosquitto/mosquitto.log\n": (
            f"log_dest file {workdir}/mosquitto.log\n"
        ),
        f"include_dir {etc}/conf.d\n": f"include_dir {workdir}/conf.d\n",
    }
    if tls is not None:
        subs.update(
            {
                "#listener 8883\n": f"listener {tls_port} 127.0.0.1\n",
                "#cafile /etc/mosquitto/certs/noodnet-ca.crt\n": f"cafile {tls.ca}\n",
                "#certfile /etc/mosquitto/certs/broker.crt\n": f"certfile {tls.cert}\n",
                "#keyfile /etc/mosquitto/certs/broker.key\n": f"keyfile {tls.key}\n",
                "#require_certificate true\n": "require_certificate true\n",
                "#tls_version tlsv1.2\n": "tls_version tlsv1.2\n",
                "#use_identity_as_username false\n": "use_identity_as_username false\n",
            }
        )
    for old, new in subs.items():
        if old not in text:
            raise RuntimeError(f"deploy/mosquitto/mosquitto.conf no longer contains {old!r}")
        text = text.replace(old, new)
    # Started as root, mosquitto would switch to user 'mosquitto' and could not read the
    # test's private files.
    if os.geteuid() == 0:
        text += "\nuser root\n"
    return text


class ProductionBroker(LocalBroker):
    """Mosquitto with the production config, password file and ACL (see module doc)."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        tls: TlsFiles | None = None,
        acl_text: str | None = None,
    ) -> None:
        super().__init__(workdir, port)
        self.tls = tls
        self.tls_port = free_port() if tls is not None else None
        self.passwd_file = workdir / "noodnet.passwd"
        self.acl_file = workdir / "noodnet.acl"
        conf_d = workdir / "conf.d"
        conf_d.mkdir(exist_ok=True)
        shutil.copy(LIMITS, conf_d / "noodnet-limits.conf")
        self.acl_file.write_text(acl_text if acl_text is not None else ACL.read_text())
        self.passwd_file.touch()
        self.passwd_file.chmod(0o600)
        self.conf.write_text(render_production_conf(workdir, self.port, tls, self.tls_port))

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads password file and ACL, as `systemctl reload` does."""
        if self.proc is None:
            raise RuntimeError("broker not running")
        self.proc.send_signal(signal.SIGHUP)
