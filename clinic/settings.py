"""Clinic settings: one YAML file, every value overridable by an environment variable.

The settings are the only source of clinic data (name, phone numbers, hours, emergency number,
website origin). They are validated when loaded; an invalid value raises `SettingsError` with a
message that names the file or variable and the setting, so a service refuses to start instead
of telling parents a wrong phone number.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clinic.paths import SETTINGS_FILE
from knowledge.yaml_files import read_mapping

# Setting name -> environment variable that overrides it.
ENV_OVERRIDES: Dict[str, str] = {
    "clinic_name": "CLINIC_NAME",
    "phone": "CLINIC_PHONE",
    "urgent_phone": "CLINIC_URGENT_PHONE",
    "emergency_number": "CLINIC_EMERGENCY_NUMBER",
    "opening_hours": "CLINIC_OPENING_HOURS",
    "timezone": "CLINIC_TIMEZONE",
    "website": "CLINIC_WEBSITE",
    "response_time": "CLINIC_RESPONSE_TIME",
}
SETTINGS_FILE_ENV = "CLINIC_SETTINGS_FILE"

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,22}[0-9]$")
_HOURS_GROUP = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{2}:\d{2})-(?P<close>\d{2}:\d{2})$"
)


class SettingsError(ValueError):
    """The clinic settings are missing or invalid."""


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours, parsed from e.g. ``"Mon-Fri 08:30-17:00; Sat 09:00-12:00"``."""

    text: str
    # Index 0 = Monday; None = closed that day.
    by_weekday: Tuple[Optional[Tuple[dt.time, dt.time]], ...]

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """Parses the opening-hours notation, raising ValueError on anything unclear."""
        days: list[Optional[Tuple[dt.time, dt.time]]] = [None] * 7
        groups = [g.strip() for g in text.split(";") if g.strip()]
        if not groups:
            raise ValueError("is empty")
        for group in groups:
            match = _HOURS_GROUP.match(group.lower())
            if not match:
                raise ValueError(f"cannot read {group!r} (expected e.g. 'Mon-Fri 08:30-17:00')")
            first, last = match["first"], match["last"] or match["first"]
            if first not in _DAYS or last not in _DAYS:
                raise ValueError(f"unknown day in {group!r} (use Mon, Tue, ... Sun)")
            try:
                opens = dt.time.fromisoformat(match["open"])
                closes = dt.time.fromisoformat(match["close"])
            except ValueError:
                raise ValueError(f"invalid time in {group!r}") from None
            if opens >= closes:
                raise ValueError(f"opening time is not before closing time in {group!r}")
            start, end = _DAYS.index(first), _DAYS.index(last)
            if end < start:
                raise ValueError(f"day range runs backwards in {group!r}")
            for day in range(start, end + 1):
                if days[day] is not None:
                    raise ValueError(f"{_DAYS[day].title()} is listed twice")
                days[day] = (opens, closes)
        return cls(text=text.strip(), by_weekday=tuple(days))

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether the clinic is open at `moment` (a datetime in the clinic's time zone)."""
        hours = self.by_weekday[moment.weekday()]
        return hours is not None and hours[0] <= moment.time() < hours[1]

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        """When the clinic next opens after `moment` (same time zone as `moment`)."""
        for days_ahead in range(8):
            day = moment.date() + dt.timedelta(days=days_ahead)
            hours = self.by_weekday[day.weekday()]
            if hours is None:
                continue
            opening = dt.datetime.combine(day, hours[0], tzinfo=moment.tzinfo)
            if opening > moment:
                return opening
        raise ValueError("the clinic never opens")  # parse() guarantees at least one day


@dataclass(frozen=True)
class ClinicSettings:
    """Validated clinic details."""

    clinic_name: str
    phone: str
    urgent_phone: str
    emergency_number: str
    opening_hours: OpeningHours
    timezone: str
    website: str
    response_time: str

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    def template_values(self) -> Dict[str, str]:
        """Values that vetted texts may use as ``{placeholders}``."""
        return {
            "clinic_name": self.clinic_name,
            "phone": self.phone,
            "urgent_phone": self.urgent_phone,
            "emergency_number": self.emergency_number,
            "opening_hours": self.opening_hours.text,
            "timezone": self.timezone,
            "website": self.website,
            "response_time": self.response_time,
        }


#: Placeholders a vetted text may contain (answers and messages are checked against this).
TEMPLATE_FIELDS = frozenset(ENV_OVERRIDES)


def load_settings(
    path: Optional[Path] = None, environ: Optional[Mapping[str, str]] = None
) -> ClinicSettings:
    """Loads the settings file, applies environment overrides and validates the result.

    Args:
        path: settings file; defaults to $CLINIC_SETTINGS_FILE or settings/clinic.yml.
        environ: environment to read overrides from; defaults to os.environ.

    Raises:
        SettingsError: naming the file or variable and the invalid setting.
    """
    env = os.environ if environ is None else environ
    path = Path(path or env.get(SETTINGS_FILE_ENV) or SETTINGS_FILE)
    raw = read_mapping(path, SettingsError, "clinic settings file")

    unknown = sorted(set(raw) - set(ENV_OVERRIDES))
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s): {', '.join(unknown)}")

    values: Dict[str, Tuple[Any, str]] = {}
    for name, variable in ENV_OVERRIDES.items():
        if env.get(variable, "").strip():
            values[name] = (env[variable].strip(), f"environment variable {variable}")
        else:
            values[name] = (raw.get(name), f"{path}: setting '{name}'")
    return _validate(values)


def _validate(values: Mapping[str, Tuple[Any, str]]) -> ClinicSettings:
    cleaned: Dict[str, str] = {}
    for name, (value, origin) in values.items():
        if value is None or not str(value).strip():
            raise SettingsError(f"{origin} is missing or empty")
        cleaned[name] = str(value).strip()

    def fail(name: str, problem: str) -> SettingsError:
        return SettingsError(f"{values[name][1]} {problem}: {cleaned[name]!r}")

    for name in ("phone", "urgent_phone", "emergency_number"):
        if not _PHONE.match(cleaned[name]) and not cleaned[name].isdigit():
            raise fail(name, "is not a phone number (digits, spaces, +, -, parentheses)")
    try:
        hours = OpeningHours.parse(cleaned["opening_hours"])
    except ValueError as exc:
        raise fail("opening_hours", f"is invalid ({exc})") from None
    try:
        ZoneInfo(cleaned["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("timezone", "is not an IANA time zone name like 'Europe/London'") from None
    url = urlparse(cleaned["website"])
    if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
        raise fail("website", "must be an origin like 'https://clinic.example.org'")
    return ClinicSettings(
        clinic_name=cleaned["clinic_name"],
        phone=cleaned["phone"],
        urgent_phone=cleaned["urgent_phone"],
        emergency_number=cleaned["emergency_number"],
        opening_hours=hours,
        timezone=cleaned["timezone"],
        website=cleaned["website"].rstrip("/"),
        response_time=cleaned["response_time"],
    )
