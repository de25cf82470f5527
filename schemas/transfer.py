"""The USB-stick transfer file between one NSP gateway and its CP, and its signature.

Invariants (see docs/fallback.md):

* A file carries the exact JSON texts of envelopes (the bytes the MQTT link would carry),
  so the receiver dedups them by message id like any other copy: importing a file twice, or
  alongside the MQTT copies, changes nothing.
* A file belongs to one NSP and one direction ("up": gateway → CP, "down": CP → gateway)
  and is signed with that NSP's transfer key (HMAC-SHA256 over the exact content bytes; the
  key is provisioned with the NSP and known only to that gateway and the CP).
* ``verify`` checks everything (format, key, signature, direction, NSP, CP, every message
  parses and belongs to that NSP) *before* the caller stores anything: a tampered, foreign
  or broken file is refused as a whole with a reason in Dutch and English.

Imports nothing from service/gateway/noodnet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from schemas.envelope import (
    AckMessage,
    DownMessage,
    TaskMessage,
    UpMessage,
    new_message_id,
    parse_down,
    parse_up,
    utcnow,
)

FORMAT = "noodnet-transfer"
VERSION = 1
ALG = "HMAC-SHA256"
MAX_FILE_BYTES = 64 * 1024 * 1024
Direction = Literal["up", "down"]
_DIRECTION_NL = {"up": "van de NSP naar de CP", "down": "van de CP naar de NSP"}
_DIRECTION_EN = {"up": "from the NSP to the CP", "down": "from the CP to the NSP"}


class TransferError(ValueError):
    """A refused transfer file; ``nl``/``en`` say why, ``code`` is stable for programs."""

    def __init__(self, code: str, nl: str, en: str) -> None:
        super().__init__(nl)
        self.code = code
        self.nl = nl
        self.en = en

    def message(self, language: str = "nl") -> str:
        return self.en if language.startswith("en") else self.nl


@dataclass(frozen=True)
class TransferKey:
    """One NSP's transfer key. Written as ``<key_id>:<secret, base64url>`` in env files."""

    key_id: str
    secret: bytes

    @classmethod
    def generate(cls) -> TransferKey:
        return cls(key_id=secrets.token_hex(4), secret=secrets.token_bytes(32))

    @classmethod
    def parse(cls, text: str) -> TransferKey:
        key_id, sep, b64 = text.strip().partition(":")
        try:
            secret = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (binascii.Error, ValueError):
            secret = b""
        if not sep or not key_id or len(secret) < 16:
            raise ValueError(
                "a transfer key looks like '<key id>:<secret in base64url>' (at least 16 bytes)"
            )
        return cls(key_id=key_id, secret=secret)

    def __str__(self) -> str:
        return f"{self.key_id}:{base64.urlsafe_b64encode(self.secret).decode().rstrip('=')}"

    def __repr__(self) -> str:  # never print the secret by accident
        return f"TransferKey(key_id={self.key_id!r})"


@dataclass(frozen=True)
class TransferFile:
    """A verified file: its header and its messages (exact JSON texts, in file order)."""

    direction: Direction
    nsp_id: str
    cp_id: str
    file_id: str
    created_at: str
    messages: list[str]
    key_id: str


def _mac(key: TransferKey, content: str) -> str:
    data = f"{FORMAT}/{VERSION}\n{key.key_id}\n".encode() + content.encode("utf-8")
    return hmac.new(key.secret, data, hashlib.sha256).hexdigest()


def build(
    direction: Direction,
    nsp_id: str,
    cp_id: str,
    messages: list[str],
    key: TransferKey,
    created_at: datetime | None = None,
) -> bytes:
    """The signed file, as bytes to write to the stick."""
    content = json.dumps(
        {
            "direction": direction,
            "nsp_id": nsp_id,
            "cp_id": cp_id,
            "file_id": new_message_id(),
            "created_at": (created_at or utcnow()).isoformat(),
            "messages": messages,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    outer = {
        "format": FORMAT,
        "version": VERSION,
        "alg": ALG,
        "key_id": key.key_id,
        "nsp_id": nsp_id,  # unsigned copy, to find the key; the signed one is in content
        "content": content,
        "mac": _mac(key, content),
    }
    return (json.dumps(outer, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _refuse(code: str, nl: str, en: str) -> TransferError:
    return TransferError(code, nl, en)


def peek(data: bytes) -> dict[str, Any]:
    """The unsigned outer header (format, version, key_id, nsp_id): only to find the key."""
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(
            "too_large",
            f"bestand te groot: {len(data)} bytes, hoogstens {MAX_FILE_BYTES}",
            f"file too large: {len(data)} bytes, at most {MAX_FILE_BYTES}",
        )
    try:
        outer = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(
            "not_json",
            f"geen Noodnet-overdrachtsbestand (geen geldige JSON: {exc})",
            f"not a Noodnet transfer file (not valid JSON: {exc})",
        ) from None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise _refuse(
            "not_transfer",
            "geen Noodnet-overdrachtsbestand",
            "not a Noodnet transfer file",
        )
    if outer.get("version") != VERSION or outer.get("alg") != ALG:
        raise _refuse(
            "version",
            f"onbekende versie of ondertekening ({outer.get('version')}, {outer.get('alg')})",
            f"unknown version or signature ({outer.get('version')}, {outer.get('alg')})",
        )
    for field in ("key_id", "nsp_id", "content", "mac"):
        if not isinstance(outer.get(field), str):
            raise _refuse("malformed", f"veld '{field}' ontbreekt", f"field '{field}' is missing")
    return outer


def verify(
    data: bytes,
    key: TransferKey,
    *,
    direction: Direction,
    nsp_id: str,
    cp_id: str | None = None,
) -> TransferFile:
    """Check a file completely; raises TransferError. Nothing is stored here."""
    outer = peek(data)
    if outer["nsp_id"] != nsp_id:
        raise _refuse(
            "other_nsp",
            f"dit bestand is van/voor NSP '{outer['nsp_id']}', niet van/voor '{nsp_id}'",
            f"this file belongs to NSP '{outer['nsp_id']}', not '{nsp_id}'",
        )
    if outer["key_id"] != key.key_id:
        raise _refuse(
            "other_key",
            f"het bestand is ondertekend met sleutel '{outer['key_id']}', NSP '{nsp_id}' heeft "
            f"sleutel '{key.key_id}': het komt van een andere NSP of de sleutel is vervangen",
            f"the file is signed with key '{outer['key_id']}', NSP '{nsp_id}' has key "
            f"'{key.key_id}': it comes from another NSP or the key was replaced",
        )
    if not hmac.compare_digest(_mac(key, outer["content"]), outer["mac"]):
        raise _refuse(
            "bad_signature",
            "handtekening klopt niet: het bestand is veranderd na het ondertekenen",
            "signature does not match: the file was changed after it was signed",
        )
    content = json.loads(outer["content"])
    if content.get("nsp_id") != nsp_id:  # signed, so only a signing bug gets here
        raise _refuse("other_nsp", "NSP in het bestand klopt niet", "NSP in the file is wrong")
    if content.get("direction") != direction:
        got = content.get("direction")
        raise _refuse(
            "direction",
            f"dit bestand gaat {_DIRECTION_NL.get(got, '?')}, hier wordt een bestand "
            f"{_DIRECTION_NL[direction]} verwacht",
            f"this file goes {_DIRECTION_EN.get(got, '?')}; expected one "
            f"{_DIRECTION_EN[direction]}",
        )
    if cp_id is not None and content.get("cp_id") != cp_id:
        raise _refuse(
            "other_cp",
            f"dit bestand is van/voor CP '{content.get('cp_id')}', niet '{cp_id}'",
            f"this file belongs to CP '{content.get('cp_id')}', not '{cp_id}'",
        )
    messages = content.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
        raise _refuse("malformed", "berichtenlijst ontbreekt", "message list is missing")
    file = TransferFile(
        direction=direction,
        nsp_id=nsp_id,
        cp_id=str(content.get("cp_id")),
        file_id=str(content.get("file_id")),
        created_at=str(content.get("created_at")),
        messages=messages,
        key_id=key.key_id,
    )
    # Every message must be valid and belong to this NSP (and CP) before any is stored.
    for i, text in enumerate(messages):
        parse_message(file, i, text)
    return file


def parse_message(file: TransferFile, index: int, text: str) -> UpMessage | DownMessage:
    """Parse message ``index`` of a verified file; raises TransferError naming it."""
    where_nl, where_en = f"bericht {index + 1}", f"message {index + 1}"
    try:
        message: UpMessage | DownMessage = (
            parse_up(text) if file.direction == "up" else parse_down(text)
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = ".".join(str(p) for p in first["loc"])
        raise _refuse(
            "bad_message",
            f"{where_nl} is ongeldig ({path}: {first['msg']})",
            f"{where_en} is invalid ({path}: {first['msg']})",
        ) from None
    owner = getattr(message, "nsp_id", None)
    if file.direction == "up" and owner != file.nsp_id:
        raise _refuse(
            "other_nsp",
            f"{where_nl} is van NSP '{owner}', niet van '{file.nsp_id}'",
            f"{where_en} is from NSP '{owner}', not '{file.nsp_id}'",
        )
    if file.direction == "down":
        if isinstance(message, AckMessage | TaskMessage) and owner != file.nsp_id:
            raise _refuse(
                "other_nsp",
                f"{where_nl} is voor NSP '{owner}', niet voor '{file.nsp_id}'",
                f"{where_en} is for NSP '{owner}', not '{file.nsp_id}'",
            )
        if getattr(message, "cp_id", file.cp_id) != file.cp_id:
            raise _refuse(
                "other_cp",
                f"{where_nl} is van een andere CP",
                f"{where_en} is from another CP",
            )
    return message


def file_name(direction: Direction, nsp_id: str, at: datetime | None = None) -> str:
    """A name that sorts by time and says what the file is, e.g. for the stick."""
    stamp = (at or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    return f"noodnet-{'naar-cp' if direction == 'up' else 'naar-nsp'}-{nsp_id}-{stamp}.json"
