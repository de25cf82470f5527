"""CAP 1.2 (OASIS Common Alerting Protocol) import and export of bulletins.

Mapping (one bulletin version ↔ one CAP alert):

* each ``info`` block is one language version (``BulletinText``): headline, description →
  text, instruction, senderName, and the ``areaDesc`` of its areas joined → area. Its
  ``language`` may be any BCP 47 tag: NSPs show it under its two-letter code ('nl-Latn-NL' →
  'nl', 'es-419' → 'es') and the tag itself is kept for export;
* the Dutch ``info`` block carries what all languages share: expires → valid_until,
  effective (else sent) → valid_from, urgency/severity/certainty → the Noodnet urgency class
  (and kept as they were for export), category, responseType, onset, eventCode, parameter and
  the area geometry (polygon, circle, geocode);
* another language's ``parameter``, ``eventCode`` and ``area`` (geometry and geocodes) are kept
  as its own when they differ from the Dutch block's, so an export says per language what the
  import said; a block NSPs cannot show (no two-letter language code, or a second block in one
  language) is kept as it came and exported again, never a reason to refuse the alert;
* msgType Alert creates a bulletin, Update (with ``references``) publishes a new version of
  the bulletin the referenced alert created, Cancel withdraws it; an Update that expires
  before it could be shown ends the alert and withdraws the bulletin too (refusing it would
  leave the warning up). Every imported version keeps its own identifier, sender and sent,
  so it exports as the alert it was;
* this CP's own exports (``urn:noodnet:{cp}:bulletin:{id}:v{n}``) are recognised when they come
  back: importing one again is a no-op, not a second bulletin.

Imported XML is checked against the official OASIS schema (``CAP-v1.2.xsd``, shipped next to
this module) and then against what an NSP needs (Dutch text, a headline, not expired, ...).
Every problem comes back with where it is (element path by local names, whatever prefix the
document uses, and line). Exported XML is validated against the same schema before it leaves.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree
from pydantic import ValidationError

from schemas import Bulletin, BulletinText, Urgency
from service.bulletins.drafts import (
    BulletinDraft,
    CapArea,
    CapCategory,
    CapCertainty,
    CapInfoExtra,
    CapMeta,
    CapResponseType,
    CapSeverity,
    CapUrgency,
    CapValue,
)
from service.bulletins.models import BulletinVersion
from service.bulletins.versions import BulletinError, BulletinInvalid, Problem, cap_of

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
XSD_PATH = Path(__file__).with_name("CAP-v1.2.xsd")
MAX_CAP_BYTES = 512 * 1024
CAP_MEDIA_TYPES = ("application/cap+xml", "application/xml", "text/xml")
_N = f"{{{CAP_NS}}}"

# Noodnet urgency class → the CAP triple written for bulletins created without CAP details.
P_TO_CAP: dict[Urgency, tuple[CapUrgency, CapSeverity, CapCertainty]] = {
    Urgency.P1: (CapUrgency.IMMEDIATE, CapSeverity.EXTREME, CapCertainty.OBSERVED),
    Urgency.P2: (CapUrgency.EXPECTED, CapSeverity.SEVERE, CapCertainty.LIKELY),
    Urgency.P3: (CapUrgency.EXPECTED, CapSeverity.MODERATE, CapCertainty.LIKELY),
    Urgency.P4: (CapUrgency.FUTURE, CapSeverity.MINOR, CapCertainty.POSSIBLE),
}
DEFAULT_EVENT = {"nl": "Publieksinformatie", "en": "Public information"}


class CapTooLarge(BulletinError):
    status_code = 413


def cap_to_urgency(urgency: CapUrgency, severity: CapSeverity) -> Urgency:
    """Extreme → P1; Severe → P1 when Immediate, else P2; Moderate → P3; otherwise P4."""
    if severity == CapSeverity.EXTREME:
        return Urgency.P1
    if severity == CapSeverity.SEVERE:
        return Urgency.P1 if urgency == CapUrgency.IMMEDIATE else Urgency.P2
    if severity == CapSeverity.MODERATE:
        return Urgency.P3
    return Urgency.P4


def _safe_parser() -> etree.XMLParser:
    # No DTDs, no entity expansion, no network: an alert from outside must not make the
    # service read files or fetch URLs (XXE) or blow up in memory (billion laughs).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


@functools.cache
def xml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH), _safe_parser()))


# ------------------------------------------------------------------------------ validation


def element_loc(el: etree._Element) -> tuple[str, ...]:
    """An element's path by local names, e.g. ('alert', 'info[2]', 'area', 'polygon'): the
    same whether the document writes ``<info>`` or ``<cap:info>``. A position is given when
    the parent has more than one element of that name."""
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return tuple(reversed(parts))


_STEP = re.compile(r"(?:\{[^}]*\}|[A-Za-z_][\w.-]*:)?(?P<name>[^\[\]]+)(?P<index>\[\d+\])?")


def _prefixes(tree: etree._ElementTree) -> dict[str, str]:
    """Every namespace prefix the document declares (the first declaration of each)."""
    namespaces: dict[str, str] = {}
    for el in tree.iter():
        if isinstance(el.tag, str):
            namespaces.update({p: ns for p, ns in el.nsmap.items() if p and p not in namespaces})
    return namespaces


def _loc_of(
    tree: etree._ElementTree, path: str | None, namespaces: dict[str, str]
) -> tuple[str, ...]:
    """A schema error's XPath as a readable element path: '/*/*[9]/*[5]' (default namespace)
    and '/cap:alert/cap:info[2]/cap:urgency' (prefixed) both → ('alert', 'info[…]', 'urgency')."""
    if not path:
        return ()
    try:
        found = tree.xpath(path, namespaces=namespaces)
    except etree.XPathError:
        found = None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return element_loc(found[0])
    # Not resolvable: the steps without prefixes or namespaces, never the raw XPath.
    steps = []
    for step in path.strip("/").split("/"):
        m = _STEP.fullmatch(step)
        steps.append(m["name"] + (m["index"] or "") if m else step)
    return tuple(steps)


def _clean(message: str) -> str:
    return message.replace(_N, "").replace(f"{{{CAP_NS}}}", "")


def parse_xml(data: bytes) -> etree._ElementTree:
    """Parse and validate against the OASIS CAP 1.2 schema; raises BulletinInvalid."""
    if len(data) > MAX_CAP_BYTES:
        raise CapTooLarge(f"CAP document too large: {len(data)} bytes > {MAX_CAP_BYTES}")
    if not data.strip():
        raise BulletinInvalid([Problem(("body",), "empty body: expected a CAP 1.2 XML alert")])
    if re.search(rb"<!DOCTYPE", data, re.IGNORECASE) or re.search(rb"<!ENTITY", data):
        raise BulletinInvalid(
            [Problem(("body",), "a DOCTYPE or ENTITY declaration is not allowed in a CAP alert")]
        )
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise BulletinInvalid(
            [Problem(("body",), f"not well-formed XML: {exc.msg}", line)]
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise BulletinInvalid([Problem(("body",), "a DOCTYPE is not allowed in a CAP alert")])
    qname = etree.QName(root)
    if qname.localname != "alert" or qname.namespace != CAP_NS:
        what = f"'{qname.localname}' in namespace '{qname.namespace or '(none)'}'"
        hint = (
            " (this is CAP 1.1; send CAP 1.2)"
            if qname.namespace == "urn:oasis:names:tc:emergency:cap:1.1"
            else ""
        )
        raise BulletinInvalid(
            [
                Problem(
                    ("body",),
                    f"root element is {what}; expected 'alert' in namespace '{CAP_NS}' "
                    f"(CAP 1.2){hint}",
                    root.sourceline,
                )
            ]
        )
    schema = xml_schema()
    if not schema.validate(tree):
        namespaces = _prefixes(tree)
        problems = [
            Problem(("body", *_loc_of(tree, e.path, namespaces)), _clean(e.message), e.line)
            for e in list(schema.error_log)[:20]
        ]
        raise BulletinInvalid(problems)
    return tree


def schema_problems(xml: bytes) -> list[str]:
    """Problems of a document against the OASIS CAP 1.2 schema (empty when valid)."""
    tree = etree.fromstring(xml, _safe_parser()).getroottree()
    schema = xml_schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {_clean(e.message)}" for e in schema.error_log]


def info_block_problems(xml: str) -> list[str]:
    """Why ``xml`` is not one CAP 1.2 ``info`` block (empty when it is). Kept blocks
    (``CapMeta.unshown_infos``) are exported as they are, so they must validate."""
    try:
        info = etree.fromstring(xml.encode(), _safe_parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc.msg}"]
    if info.tag != _N + "info":
        q = etree.QName(info)
        return [
            f"the element is '{q.localname}' in namespace '{q.namespace or '(none)'}'; "
            f"expected 'info' in '{CAP_NS}'"
        ]
    alert = etree.Element(_N + "alert", nsmap={None: CAP_NS})
    for name, text in (
        ("identifier", "check"),
        ("sender", "check"),
        ("sent", "2000-01-01T00:00:00-00:00"),
        ("status", "Actual"),
        ("msgType", "Alert"),
        ("scope", "Public"),
    ):
        etree.SubElement(alert, _N + name).text = text
    _copy_into(alert, info)
    return schema_problems(etree.tostring(alert))


# ------------------------------------------------------------------------------ import


@dataclass
class ImportedAlert:
    identifier: str
    sender: str
    sent: datetime
    msg_type: str  # Alert | Update | Cancel
    references: list[tuple[str, str, str]]
    draft: BulletinDraft | None  # None: a Cancel without info blocks
    xml: str
    warnings: list[str] = field(default_factory=list)
    # An Update that expires when (or before) it takes effect, or in the past: it ends the
    # alert (as tsunami centres end a warning), so the bulletin is withdrawn.
    ends: bool = False


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find(_N + name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _texts(el: etree._Element, name: str) -> list[str]:
    return [c.text.strip() for c in el.findall(_N + name) if c.text and c.text.strip()]


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def _values(el: etree._Element, name: str) -> list[CapValue]:
    out = []
    for c in el.findall(_N + name):
        out.append(CapValue(value_name=_text(c, "valueName") or "", value=_text(c, "value") or ""))
    return out


# A well-formed BCP 47 language tag (RFC 5646 'langtag' or private use; case-insensitive).
_BCP47 = re.compile(
    r"(?:(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"  # language, extended language
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|\d{3}))?"  # region
    r"(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*"  # variants
    r"(?:-[\da-wy-z](?:-[a-z\d]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z\d]{1,8})+)?"  # private use
    r"|x(?:-[a-z\d]{1,8})+)",
    re.IGNORECASE,
)
_SHOWN_LANGUAGE = re.compile(r"([a-z]{2})(?:-([a-z]{2}))?", re.IGNORECASE)


def display_language(tag: str | None) -> str | None:
    """The code NSPs show an info block under ('nl', 'en-GB'; see ``BulletinText``), or None
    when it has none. 'zh-tw' → 'zh-TW'; a longer tag with a two-letter language → that
    language: 'nl-Latn-NL' → 'nl', 'es-419' → 'es'; 'fil' or a malformed tag → None. No
    ``<language>`` is CAP's default, 'en-US'."""
    tag = (tag or "en-US").strip()
    if m := _SHOWN_LANGUAGE.fullmatch(tag):
        return f"{m[1].lower()}-{m[2].upper()}" if m[2] else m[1].lower()
    if _BCP47.fullmatch(tag) and re.match(r"[a-z]{2}-", tag, re.IGNORECASE):
        return tag[:2].lower()
    return None


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _at(tree: etree._ElementTree, el: etree._Element, *loc: str | int) -> tuple[str | int, ...]:
    return ("body", *element_loc(el), *loc)


def _problem(
    tree: etree._ElementTree,
    problems: list[Problem],
    el: etree._Element,
    name: str | None,
    msg: str,
) -> None:
    child = el.find(_N + name) if name else None
    node = child if child is not None else el
    problems.append(Problem(_at(tree, node), msg, node.sourceline))


def parse_alert(data: bytes, now: datetime) -> ImportedAlert:
    """A validated CAP 1.2 alert as a bulletin draft; raises BulletinInvalid naming the problem."""
    tree = parse_xml(data)
    alert = tree.getroot()
    problems: list[Problem] = []

    identifier = _text(alert, "identifier") or ""
    sender = _text(alert, "sender") or ""
    sent = _time(_text(alert, "sent")) or now
    status = _text(alert, "status")
    msg_type = _text(alert, "msgType") or ""
    scope = _text(alert, "scope")
    for name, value in (("identifier", identifier), ("sender", sender)):
        if re.search(r"[\s,<&]", value) or not value:
            _problem(
                tree,
                problems,
                alert,
                name,
                f"'{value}' must be non-empty, without spaces, commas, '<' or '&'",
            )
    if status != "Actual":
        _problem(
            tree,
            problems,
            alert,
            "status",
            f"'{status}': only 'Actual' alerts are shown to residents at NSPs",
        )
    if scope != "Public":
        _problem(
            tree,
            problems,
            alert,
            "scope",
            f"'{scope}': only 'Public' alerts can be shown to residents",
        )
    if msg_type in ("Ack", "Error"):
        _problem(
            tree,
            problems,
            alert,
            "msgType",
            f"'{msg_type}' carries no public information; expected Alert, Update or Cancel",
        )
    references: list[tuple[str, str, str]] = []
    raw_refs = _text(alert, "references")
    for entry in (raw_refs or "").split():
        parts = entry.split(",")
        if len(parts) != 3:
            _problem(
                tree, problems, alert, "references", f"'{entry}' is not 'sender,identifier,sent'"
            )
        else:
            references.append((parts[0], parts[1], parts[2]))
    if msg_type in ("Update", "Cancel") and not references:
        _problem(
            tree,
            problems,
            alert,
            "msgType",
            f"an '{msg_type}' needs <references> naming the alert it updates or cancels",
        )
    if problems:
        raise BulletinInvalid(problems)
    if msg_type != "Cancel":
        return _with_infos(tree, data, now, identifier, sender, sent, msg_type, references)
    # A Cancel must never fail on its texts: leaving a withdrawn warning up is worse.
    try:
        return _with_infos(tree, data, now, identifier, sender, sent, msg_type, references)
    except BulletinInvalid as exc:
        return ImportedAlert(
            identifier,
            sender,
            sent,
            msg_type,
            references,
            None,
            data.decode("utf-8", "replace"),
            [
                f"the Cancel's info blocks were not used ({exc.message}); NSPs stop showing the "
                "bulletin all the same"
            ],
        )


def _area(
    tree: etree._ElementTree,
    problems: list[Problem],
    area: etree._Element,
    descriptions: dict[str, str],
) -> CapArea | None:
    bad = False
    for polygon in area.findall(_N + "polygon"):
        points = (polygon.text or "").split()
        if len(points) < 4 or points[0] != points[-1]:
            bad = True
            problems.append(
                Problem(
                    _at(tree, polygon),
                    "a polygon needs at least 4 'lat,lon' points and must end where it starts",
                    polygon.sourceline,
                )
            )
    if bad:
        return None
    try:
        return CapArea(
            descriptions=descriptions,
            polygons=_texts(area, "polygon"),
            circles=_texts(area, "circle"),
            geocodes=_values(area, "geocode"),
            altitude=float(a) if (a := _text(area, "altitude")) else None,
            ceiling=float(c) if (c := _text(area, "ceiling")) else None,
        )
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            problems.append(
                Problem(
                    _at(tree, area, *[str(p) for p in e["loc"][:1]]),
                    e["msg"].removeprefix("Value error, "),
                    area.sourceline,
                )
            )
        return None


def _geometry(area: CapArea) -> tuple[object, ...]:
    return (area.polygons, area.circles, area.geocodes, area.altitude, area.ceiling)


def _as_cap_xml(info: etree._Element) -> str:
    return etree.tostring(info, encoding="unicode", with_tail=False)


def _with_infos(
    tree: etree._ElementTree,
    data: bytes,
    now: datetime,
    identifier: str,
    sender: str,
    sent: datetime,
    msg_type: str,
    references: list[tuple[str, str, str]],
) -> ImportedAlert:
    alert = tree.getroot()
    problems: list[Problem] = []
    warnings: list[str] = []

    infos = alert.findall(_N + "info")
    if not infos and msg_type != "Cancel":
        _problem(
            tree, problems, alert, None, "the alert has no <info> block: there is nothing to show"
        )
    # Display code → info block NSPs show; the others are kept and exported as they came.
    by_lang: dict[str, etree._Element] = {}
    tags: dict[str, str] = {}
    unshown: list[str] = []
    for number, info in enumerate(infos, start=1):
        tag = _text(info, "language")
        lang = display_language(tag)
        said = f"'{tag}'" if tag else "no <language> (en-US)"
        if lang is None:
            unshown.append(_as_cap_xml(info))
            warnings.append(
                f"info[{number}] {said}: no two-letter language code NSPs can show it under; "
                "kept with the bulletin and exported again"
            )
            continue
        primary = lang.split("-")[0]
        clash = next((other for other in by_lang if other.split("-")[0] == primary), None)
        if clash is not None:
            if primary == "nl":  # which Dutch text would the NSPs show?
                _problem(
                    tree,
                    problems,
                    info,
                    "language",
                    f"a second info block in '{tag}' (also '{clash}'): Noodnet shows one text "
                    "per language",
                )
                continue
            unshown.append(_as_cap_xml(info))
            warnings.append(
                f"info[{number}] {said}: a second info block in this language (also "
                f"'{tags.get(clash, clash)}'); NSPs show the first, this one is kept with the "
                "bulletin and exported again"
            )
            continue
        by_lang[lang] = info
        if tag is not None and tag != lang:
            tags[lang] = tag
    dutch = next((lang for lang in by_lang if lang.startswith("nl")), None)
    if infos and dutch is None:
        problems.append(
            Problem(
                ("body", "alert", "info"),
                "no Dutch info block (language 'nl' or 'nl-NL'): every NSP shows Dutch",
                infos[0].sourceline,
            )
        )
    if problems or not infos or dutch is None:
        if problems:
            raise BulletinInvalid(problems)
        return ImportedAlert(
            identifier, sender, sent, msg_type, references, None, data.decode("utf-8", "replace")
        )

    nl = by_lang[dutch]
    # Dutch first: it is what every NSP shows by default.
    ordered = [dutch, *[lang for lang in by_lang if lang != dutch]]
    texts: list[BulletinText] = []
    extras: dict[str, CapInfoExtra] = {}
    areas: list[CapArea] = []
    for i, area_el in enumerate(nl.findall(_N + "area")):
        descriptions: dict[str, str] = {}
        for lang in ordered:
            lang_areas = by_lang[lang].findall(_N + "area")
            if i < len(lang_areas):
                desc = _text(lang_areas[i], "areaDesc")
                if desc:
                    descriptions[lang] = desc
        shared = _area(tree, problems, area_el, descriptions or {dutch: f"gebied {i + 1}"})
        if shared is not None:
            areas.append(shared)
    nl_parameters = _values(nl, "parameter")
    nl_event_codes = _values(nl, "eventCode")
    for lang in ordered:
        info = by_lang[lang]
        headline = _text(info, "headline")
        description = _text(info, "description")
        before = len(problems)
        if headline is None:
            _problem(
                tree,
                problems,
                info,
                None,
                "<headline> is required: it is what the NSP board shows first",
            )
        elif len(headline) > 200:
            _problem(
                tree,
                problems,
                info,
                "headline",
                f"{len(headline)} characters; at most 200 fit the board",
            )
        if description is None:
            _problem(
                tree,
                problems,
                info,
                None,
                "<description> is required: it is the text residents read",
            )
        elif len(description) > 4000:
            _problem(
                tree, problems, info, "description", f"{len(description)} characters; at most 4000"
            )
        instruction = _text(info, "instruction")
        if instruction is not None and len(instruction) > 4000:
            _problem(
                tree, problems, info, "instruction", f"{len(instruction)} characters; at most 4000"
            )
        # This language's own parameters, event codes and areas, where they differ from the
        # Dutch block's (an export writes them back into this language's block).
        own_areas: list[CapArea] | None = None
        own_parameters: list[CapValue] | None = None
        own_event_codes: list[CapValue] | None = None
        if lang != dutch:
            parsed = [
                _area(tree, problems, a, {lang: _text(a, "areaDesc") or f"area {n + 1}"})
                for n, a in enumerate(info.findall(_N + "area"))
            ]
            own = [a for a in parsed if a is not None]
            if len(own) != len(areas) or any(
                _geometry(a) != _geometry(b) for a, b in zip(own, areas, strict=False)
            ):
                own_areas = own
            if (parameters := _values(info, "parameter")) != nl_parameters:
                own_parameters = parameters
            if (event_codes := _values(info, "eventCode")) != nl_event_codes:
                own_event_codes = event_codes
        if headline is None or description is None or len(problems) > before:
            continue
        if own_areas:
            area_descs = [a.description(lang) for a in own_areas]
        elif areas:
            # Also when this language names no area: place names read the same.
            area_descs = [a.description(lang) for a in areas]
        else:
            area_descs = [d for a in info.findall(_N + "area") if (d := _text(a, "areaDesc"))]
        texts.append(
            BulletinText(
                language=lang,
                headline=headline,
                text=description,
                instruction=_clip(instruction, 4000),
                area=_clip("; ".join(area_descs), 1000) if area_descs else None,
                sender_name=_clip(_text(info, "senderName"), 200),
            )
        )
        extras[lang] = CapInfoExtra(
            event=_clip(_text(info, "event"), 500),
            audience=_clip(_text(info, "audience"), 500),
            web=_clip(_text(info, "web"), 2000),
            contact=_clip(_text(info, "contact"), 500),
            language_tag=tags.get(lang),
            parameters=own_parameters,
            event_codes=own_event_codes,
            areas=own_areas,
        )
        for res in info.findall(_N + "resource"):
            warnings.append(
                f"info '{lang}': resource '{_text(res, 'resourceDesc')}' "
                f"({_text(res, 'mimeType')}) is not sent to NSPs; the board shows text only"
            )
        if lang != dutch:
            for name in ("expires", "effective", "onset", "urgency", "severity", "certainty"):
                mine, theirs = _text(info, name), _text(nl, name)
                if name in ("expires", "effective", "onset"):
                    same = _time(mine) == _time(theirs)
                else:
                    same = mine == theirs
                if not same:
                    warnings.append(
                        f"info '{lang}': <{name}> differs from the Dutch info block; "
                        "the Dutch one is used for the whole bulletin"
                    )
            for name in ("category", "responseType"):
                if sorted(_texts(info, name)) != sorted(_texts(nl, name)):
                    warnings.append(
                        f"info '{lang}': <{name}> differs from the Dutch info block; "
                        "the Dutch one is exported for every language"
                    )

    expires = _time(_text(nl, "expires"))
    valid_from = _time(_text(nl, "effective")) or sent
    ends = False
    if msg_type == "Update" and expires is not None and expires <= max(now, valid_from):
        ends = True
        warnings.append(
            f"this Update expires at {expires.isoformat()}, before it could be shown: it ends "
            "the alert, so NSPs stop showing the bulletin (withdrawn)"
        )
    elif expires is not None and expires <= now:
        _problem(
            tree,
            problems,
            nl,
            "expires",
            f"{expires.isoformat()} lies in the past: the alert would never be shown",
        )
    elif expires is not None and expires <= valid_from:
        _problem(tree, problems, nl, "expires", "must be after <effective> (or <sent>)")
    if problems:
        raise BulletinInvalid(problems)

    try:
        draft = _draft(alert, nl, msg_type, identifier, sender, sent, texts, areas, extras, unshown)
    except ValidationError as exc:
        raise BulletinInvalid(
            [
                Problem(("body", "alert", *map(str, e["loc"])), e["msg"])
                for e in exc.errors(include_url=False)
            ]
        ) from None
    return ImportedAlert(
        identifier,
        sender,
        sent,
        msg_type,
        references,
        draft,
        data.decode("utf-8", "replace"),
        warnings,
        ends,
    )


def _draft(
    alert: etree._Element,
    nl: etree._Element,
    msg_type: str,
    identifier: str,
    sender: str,
    sent: datetime,
    texts: list[BulletinText],
    areas: list[CapArea],
    extras: dict[str, CapInfoExtra],
    unshown: list[str],
) -> BulletinDraft:
    cap_urgency = CapUrgency(_text(nl, "urgency") or "Unknown")
    severity = CapSeverity(_text(nl, "severity") or "Unknown")
    meta = CapMeta(
        sent=sent,
        source=_text(alert, "source"),
        codes=_texts(alert, "code"),
        note=_text(alert, "note"),
        incidents=_text(alert, "incidents"),
        categories=[CapCategory(c) for c in _texts(nl, "category")],
        response_types=[CapResponseType(r) for r in _texts(nl, "responseType")],
        urgency=cap_urgency,
        severity=severity,
        certainty=CapCertainty(_text(nl, "certainty") or "Unknown"),
        onset=_time(_text(nl, "onset")),
        event_codes=_values(nl, "eventCode"),
        parameters=_values(nl, "parameter"),
        areas=areas,
        info=extras,
        unshown_infos=unshown,
    )
    return BulletinDraft(
        urgency=cap_to_urgency(cap_urgency, severity),
        valid_from=_time(_text(nl, "effective")) or sent,
        valid_until=_time(_text(nl, "expires")),
        texts=texts,
        cap=meta,
        note=f"CAP {msg_type} {identifier} from {sender}",
    )


# ------------------------------------------------------------------------------ export


def _cap_time(value: datetime) -> str:
    # CAP 1.2 forbids 'Z' and writes UTC as '-00:00'; the schema allows no fractions.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def identity(version: BulletinVersion, cp_id: str, sender: str) -> tuple[str, str, datetime]:
    """(sender, identifier, sent) of a version as a CAP alert: the imported alert's own
    identity when it came from CAP, else one derived from the bulletin and version."""
    meta = cap_of(version)
    if version.cap_identifier and version.cap_sender:
        sent = meta.sent if meta is not None and meta.sent is not None else version.created_at
        return version.cap_sender, version.cap_identifier, sent
    return sender, own_identifier(cp_id, version.bulletin_id, version.version), version.created_at


def own_identifier(cp_id: str, bulletin_id: str, version: int) -> str:
    return f"urn:noodnet:{cp_id}:bulletin:{bulletin_id}:v{version}"


def own_version(
    identifier: str, sender: str, cp_id: str, own_sender: str
) -> tuple[str, int] | None:
    """(bulletin id, version) when (sender, identifier) is this CP's own export of a version
    made here (``own_identifier``), else None: such an alert coming back is that version."""
    if sender != own_sender:
        return None
    m = re.fullmatch(
        rf"urn:noodnet:{re.escape(cp_id)}:bulletin:(?P<bulletin>[^:\s]+):v(?P<version>[1-9]\d*)",
        identifier,
    )
    return (m["bulletin"], int(m["version"])) if m else None


def export_alert(
    version: BulletinVersion, earlier: list[BulletinVersion], cp_id: str, sender: str
) -> bytes:
    """A CAP 1.2 alert for one bulletin version (Alert, Update or Cancel), schema-valid."""
    body = Bulletin.model_validate(version.body)
    meta = cap_of(version) or CapMeta()
    own_sender, identifier, sent = identity(version, cp_id, sender)

    def sub(parent: etree._Element, name: str, text: str | None) -> etree._Element | None:
        if text is None:
            return None
        el = etree.SubElement(parent, _N + name)
        el.text = text
        return el

    def values(parent: etree._Element, name: str, items: list[CapValue]) -> None:
        for item in items:
            el = etree.SubElement(parent, _N + name)
            sub(el, "valueName", item.value_name)
            sub(el, "value", item.value)

    alert = etree.Element(_N + "alert", nsmap={None: CAP_NS})
    sub(alert, "identifier", identifier)
    sub(alert, "sender", own_sender)
    sub(alert, "sent", _cap_time(sent))
    sub(alert, "status", "Actual")
    if body.withdrawn:
        msg_type = "Cancel"
    elif version.version == 1 or not earlier:
        msg_type = "Alert"
    else:
        msg_type = "Update"
    sub(alert, "msgType", msg_type)
    sub(alert, "source", meta.source)
    sub(alert, "scope", "Public")
    for code in meta.codes:
        sub(alert, "code", code)
    sub(alert, "note", meta.note)
    if msg_type != "Alert" and earlier:
        refs = []
        for v in earlier:
            s, i, t = identity(v, cp_id, sender)
            refs.append(f"{s},{i},{_cap_time(t)}")
        sub(alert, "references", " ".join(refs))
    sub(alert, "incidents", meta.incidents)

    derived = P_TO_CAP[body.urgency]
    for text in body.texts:
        extra = meta.extra(text.language)
        info = etree.SubElement(alert, _N + "info")
        sub(info, "language", extra.language_tag or text.language)
        for category in meta.categories or [CapCategory.OTHER]:
            sub(info, "category", category.value)
        event = (
            extra.event
            or meta.extra("nl").event
            or DEFAULT_EVENT.get(text.language.split("-")[0], DEFAULT_EVENT["en"])
        )
        sub(info, "event", event)
        for response in meta.response_types:
            sub(info, "responseType", response.value)
        sub(info, "urgency", (meta.urgency or derived[0]).value)
        sub(info, "severity", (meta.severity or derived[1]).value)
        sub(info, "certainty", (meta.certainty or derived[2]).value)
        sub(info, "audience", extra.audience)
        values(
            info, "eventCode", meta.event_codes if extra.event_codes is None else extra.event_codes
        )
        sub(info, "effective", _cap_time(body.valid_from))
        sub(info, "onset", _cap_time(meta.onset) if meta.onset else None)
        sub(info, "expires", _cap_time(body.valid_until) if body.valid_until else None)
        sub(info, "senderName", text.sender_name)
        sub(info, "headline", text.headline)
        sub(info, "description", text.text)
        sub(info, "instruction", text.instruction)
        sub(info, "web", extra.web)
        sub(info, "contact", extra.contact)
        values(info, "parameter", meta.parameters if extra.parameters is None else extra.parameters)
        areas = meta.areas if extra.areas is None else extra.areas
        if areas or extra.areas is not None:
            for area in areas:
                el = etree.SubElement(info, _N + "area")
                sub(el, "areaDesc", area.description(text.language))
                for polygon in area.polygons:
                    sub(el, "polygon", polygon)
                for circle in area.circles:
                    sub(el, "circle", circle)
                values(el, "geocode", area.geocodes)
                sub(el, "altitude", _decimal(area.altitude))
                sub(el, "ceiling", _decimal(area.ceiling))
        elif text.area:
            el = etree.SubElement(info, _N + "area")
            sub(el, "areaDesc", text.area)
    for kept in meta.unshown_infos:  # blocks NSPs do not show, as they came
        _copy_into(alert, etree.fromstring(kept.encode(), _safe_parser()))

    xml: bytes = etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    problems = schema_problems(xml)
    if problems:  # a bug here, not bad input: never hand out an invalid alert
        raise RuntimeError("exported CAP does not validate: " + "; ".join(problems))
    return xml


def _copy_into(parent: etree._Element, el: etree._Element) -> None:
    """A CAP element and its children under ``parent``, written in the exported document's
    namespace style (no 'cap:' prefix carried over); leaf text unchanged."""
    copy = etree.SubElement(parent, _N + etree.QName(el).localname)
    children = [c for c in el if isinstance(c.tag, str)]
    if children:
        for child in children:
            _copy_into(copy, child)
    else:
        copy.text = el.text


def _decimal(value: float | None) -> str | None:
    if value is None:
        return None
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
