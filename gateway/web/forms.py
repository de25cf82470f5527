"""The four staff forms: which fields, how a submitted form becomes a message body, and
validation messages a volunteer understands.

The message contract (``schemas``) stays the one judge of what is valid: a form is turned
into a body dict and validated by the body model; its errors are translated back to the form
field they belong to. The browser checks the same limits first (``required``, ``min``,
``max``, ``maxlength``), but the server never relies on that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from gateway.outbox import body_model
from gateway.web.i18n import Translator

FieldKind = Literal["text", "textarea", "number", "select", "radio", "checkboxes", "datetime"]


@dataclass(frozen=True)
class FormField:
    name: str
    kind: FieldKind
    label: str  # i18n key
    required: bool = False
    choices: str | None = None  # i18n choice group
    hint: str | None = None  # i18n key
    path: tuple[str, ...] = ()  # where in the body; default (name,)
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    integer: bool = True
    default: str = ""
    column: int = 1  # wide screens: the form's column (the help form uses two)
    # Shown only when every (field, value) holds (the page's script hides it otherwise);
    # required then. Not part of the message body: see ``MEDICAL_PROMPTS``.
    show_when: tuple[tuple[str, str], ...] = ()
    prompt: bool = False
    rows: int = 5  # textarea height

    @property
    def body_path(self) -> tuple[str, ...]:
        return self.path or (self.name,)


@dataclass(frozen=True)
class FormSpec:
    kind: str  # the message kind
    slug: str  # URL part
    title: str
    intro: str
    fields: tuple[FormField, ...]

    @property
    def columns(self) -> list[list[FormField]]:
        count = max(f.column for f in self.fields)
        return [[f for f in self.fields if f.column == c] for c in range(1, count + 1)]


MEDICAL_P1 = (("category", "medical"), ("urgency", "P1"))
# The two questions a dispatcher asks first about a medical P1. The contract has no fields for
# them, so the answers go in front of the description, always in Dutch (the CP's working
# language), where the console and the region see them without any schema change.
MEDICAL_PROMPTS = {"conscious": "Bij bewustzijn", "breathing": "Ademt normaal"}
PROMPT_ANSWERS = {"yes": "ja", "no": "nee", "unknown": "onbekend"}


HELP = FormSpec(
    "help_request",
    "help",
    "form_help_title",
    "form_help_intro",
    (
        # Column 1: what, how urgent (for a medical P1 the two first questions), how many.
        FormField("category", "select", "f_category", True, "help_category"),
        FormField("urgency", "radio", "f_urgency", True, "urgency"),
        FormField(
            "conscious", "radio", "f_conscious", True, "yes_no", show_when=MEDICAL_P1, prompt=True
        ),
        FormField(
            "breathing", "radio", "f_breathing", True, "yes_no", show_when=MEDICAL_P1, prompt=True
        ),
        # Column 2: where, what happened, how the CP reaches the reporter; then Versturen.
        FormField(
            "address",
            "text",
            "f_address",
            True,
            hint="f_address_hint",
            path=("location", "address"),
            max_length=300,
            column=2,
        ),
        FormField(
            "location_description",
            "text",
            "f_location_description",
            path=("location", "description"),
            max_length=300,
            column=2,
        ),
        FormField(
            "people_involved",
            "number",
            "f_people_involved",
            True,
            minimum=1,
            maximum=10_000,
            default="1",
            column=1,
        ),
        FormField(
            "vulnerable_people",
            "number",
            "f_vulnerable_people",
            minimum=0,
            maximum=10_000,
            default="0",
            column=1,
        ),
        FormField(
            "description",
            "textarea",
            "f_description",
            True,
            hint="f_description_hint",
            max_length=4000,
            column=2,
            rows=2,
        ),
        FormField("reporter_name", "text", "f_reporter_name", max_length=200, column=2),
        FormField(
            "callback", "text", "f_callback", hint="f_callback_hint", max_length=200, column=2
        ),
    ),
)

SITUATION = FormSpec(
    "situation_report",
    "situation",
    "form_situation_title",
    "form_situation_intro",
    (
        FormField("category", "select", "f_situation_category", True, "situation_category"),
        FormField("severity", "radio", "f_severity", True, "severity"),
        FormField(
            "description",
            "textarea",
            "f_description",
            True,
            hint="f_description_hint",
            max_length=4000,
        ),
        FormField(
            "address",
            "text",
            "f_address",
            hint="f_address_hint",
            path=("location", "address"),
            max_length=300,
        ),
        FormField(
            "location_description",
            "text",
            "f_location_description",
            path=("location", "description"),
            max_length=300,
        ),
        FormField("observed_at", "datetime", "f_observed_at"),
        FormField("people_affected", "number", "f_people_affected", minimum=0, maximum=10_000_000),
    ),
)

RESOURCE = FormSpec(
    "resource_request",
    "resource",
    "form_resource_title",
    "form_resource_intro",
    (
        FormField("resource", "select", "f_resource", True, "resource"),
        FormField("item", "text", "f_item", True, hint="f_item_hint", max_length=200),
        FormField(
            "quantity", "number", "f_quantity", True, minimum=0, maximum=1_000_000, integer=False
        ),
        FormField("unit", "text", "f_unit", True, hint="f_unit_hint", max_length=30),
        FormField("needed_by", "datetime", "f_needed_by"),
        FormField("urgency", "select", "f_resource_urgency", True, "urgency", default="P3"),
        FormField("note", "textarea", "f_note", max_length=2000),
    ),
)

STATUS = FormSpec(
    "status",
    "status",
    "form_status_title",
    "form_status_intro",
    (
        FormField("state", "radio", "f_state", True, "state"),
        FormField("power_source", "select", "f_power_source", True, "power_source"),
        FormField(
            "power_hours_left",
            "number",
            "f_power_hours_left",
            minimum=0,
            maximum=10_000,
            integer=False,
        ),
        FormField(
            "staff_present", "number", "f_staff_present", minimum=0, maximum=10_000, default="0"
        ),
        FormField(
            "volunteers_present",
            "number",
            "f_volunteers_present",
            minimum=0,
            maximum=10_000,
            default="0",
        ),
        FormField(
            "visitors_last_hour",
            "number",
            "f_visitors_last_hour",
            minimum=0,
            maximum=1_000_000,
            default="0",
        ),
        FormField("functions", "checkboxes", "f_functions", choices="functions"),
        FormField("link_quality", "select", "f_link_quality", choices="link_quality"),
        FormField("note", "textarea", "f_note", max_length=1000),
    ),
)

FORMS: dict[str, FormSpec] = {f.slug: f for f in (HELP, SITUATION, RESOURCE, STATUS)}


@dataclass
class FormResult:
    values: dict[str, str | list[str]]
    errors: dict[str, str] = field(default_factory=dict)
    body: BaseModel | None = None


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        body = body.setdefault(part, {})
    body[path[-1]] = value


def _number(raw: str, integer: bool) -> float | int:
    # Dutch writes decimals with a comma.
    text = raw.replace(" ", "").replace(",", ".")
    value = float(text)
    if integer:
        if not value.is_integer():
            raise ValueError(raw)
        return int(value)
    return value


def _fmt(limit: object) -> str:
    if isinstance(limit, float) and limit.is_integer():
        return str(int(limit))
    return str(limit)


def parse(spec: FormSpec, form: Mapping[str, list[str]], tz: ZoneInfo, t: Translator) -> FormResult:
    """Submitted form → validated body, or per-field messages in the staff's language."""
    values: dict[str, str | list[str]] = {}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    raw_of = {f.name: (form.get(f.name) or [""])[0].strip() for f in spec.fields}
    for f in spec.fields:
        raw_list = [v.strip() for v in form.get(f.name, [])]
        if f.prompt:
            raw = raw_list[0] if raw_list else ""
            values[f.name] = raw
            if not _applies(f, raw_of):
                continue
            if raw not in PROMPT_ANSWERS:
                errors[f.name] = t("err_choice")
            continue
        if f.kind == "checkboxes":
            values[f.name] = [v for v in raw_list if v]
            _set(body, f.body_path, values[f.name])
            continue
        raw = raw_list[0] if raw_list else ""
        values[f.name] = raw
        if raw == "":
            if f.required:
                errors[f.name] = t("err_choice") if f.choices else t("err_missing")
            continue
        if f.kind == "number":
            try:
                _set(body, f.body_path, _number(raw, f.integer))
            except ValueError:
                errors[f.name] = t("err_number")
            continue
        if f.kind == "datetime":
            try:
                local = datetime.fromisoformat(raw)
            except ValueError:
                errors[f.name] = t("err_datetime")
                continue
            aware = local if local.tzinfo else local.replace(tzinfo=tz)
            _set(body, f.body_path, aware.isoformat())
            continue
        _set(body, f.body_path, raw)
    # Rules across fields are checked now, not after the others are fixed: a volunteer sees
    # every problem of the form at once.
    for name, message in _cross_field_errors(spec, raw_of, t):
        errors.setdefault(name, message)
    if errors:
        return FormResult(values, errors)
    answers = [
        f"{MEDICAL_PROMPTS[f.name]}: {PROMPT_ANSWERS[str(values[f.name])]}"
        for f in spec.fields
        if f.prompt and _applies(f, raw_of)
    ]
    if answers and isinstance(body.get("description"), str):
        body["description"] = " · ".join(answers) + "\n" + body["description"]
    try:
        model = body_model(spec.kind).model_validate(body)
    except ValidationError as exc:
        by_path = {f.body_path: f for f in spec.fields}
        for err in exc.errors(include_url=False):
            loc = tuple(str(p) for p in err["loc"])
            target = by_path.get(loc) or by_path.get(loc[:2]) or by_path.get(loc[:1])
            name, message = _message(spec, target, loc, err, t)
            errors.setdefault(name, message)
        return FormResult(values, errors)
    return FormResult(values, {}, model)


def _applies(f: FormField, raw: Mapping[str, str]) -> bool:
    return all(raw.get(name) == value for name, value in f.show_when)


def _cross_field_errors(
    spec: FormSpec, raw: Mapping[str, str], t: Translator
) -> list[tuple[str, str]]:
    """The contract's rules that join two fields, checked on the raw form values."""
    found: list[tuple[str, str]] = []
    if spec.kind == "help_request":
        try:
            involved = int(_number(raw.get("people_involved") or "1", True))
            vulnerable = int(_number(raw.get("vulnerable_people") or "0", True))
        except ValueError:
            return found
        if vulnerable > involved:
            found.append(("vulnerable_people", t("err_vulnerable")))
    return found


def _message(
    spec: FormSpec, target: FormField | None, loc: tuple[str, ...], err: Any, t: Translator
) -> tuple[str, str]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", ""))
    if target is None:
        # Errors of a whole model: the location rule or the vulnerable ≤ involved rule.
        if "vulnerable_people" in msg:
            return "vulnerable_people", t("err_vulnerable")
        if loc[:1] == ("location",) or "location" in msg:
            return "address", t("err_address")
        return spec.fields[0].name, t("err_invalid")
    if kind == "missing" or kind == "string_too_short":
        text = t("err_missing")
    elif kind in ("enum", "literal_error"):
        text = t("err_choice")
    elif kind in ("int_parsing", "float_parsing", "int_from_float", "int_type", "float_type"):
        text = t("err_number")
    elif kind == "greater_than_equal":
        text = t("err_min", limit=_fmt(ctx.get("ge")))
    elif kind == "less_than_equal":
        text = t("err_max", limit=_fmt(ctx.get("le")))
    elif kind == "greater_than":
        text = t("err_more_than", limit=_fmt(ctx.get("gt")))
    elif kind == "string_too_long":
        text = t("err_too_long", limit=ctx.get("max_length"))
    elif kind.startswith("datetime"):
        text = t("err_datetime")
    elif kind in ("string_pattern_mismatch", "string_unicode") and target.kind in (
        "text",
        "textarea",
    ):
        text = t("err_characters")
    elif target.path[:1] == ("location",):
        text = t("err_address")
    else:
        text = t("err_invalid")
    return target.name, text


def initial_values(spec: FormSpec, previous: BaseModel | None = None) -> dict[str, Any]:
    """Defaults for an empty form; for the status form, what the staff entered last time."""
    values: dict[str, Any] = {
        f.name: ([] if f.kind == "checkboxes" else f.default) for f in spec.fields
    }
    if previous is not None:
        data = previous.model_dump(mode="json")
        for f in spec.fields:
            value: Any = data
            for part in f.body_path:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                continue
            values[f.name] = value if isinstance(value, list) else _fmt(value)
    return values
