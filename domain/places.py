"""Rules for a location's master data: codes, timezones, currencies, countries, coordinates."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.errors import InvalidRequest

LOCATION_KINDS = ("store", "warehouse")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")  # BER, WH1, LIS-2: printed on receipts and ids


def check_code(code: str, what: str = "location") -> str:
    """An upper-case code of 1–32 letters, digits, '-' or '_' (it ends up in workflow ids)."""
    if not CODE.match(code):
        raise InvalidRequest(
            f"A {what} code is 1 to 32 upper-case letters, digits, '-' or '_' (e.g. BER1), "
            f"not {code!r}.",
            code="bad_code",
        )
    return code


def check_timezone(name: str) -> str:
    """An IANA timezone such as Europe/Berlin (opening hours and receipts use it)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            f"{name!r} is not a known IANA timezone (e.g. Europe/Berlin).", code="bad_timezone"
        ) from None
    # ZoneInfo also opens files such as "posixrules"; only names of the IANA list are accepted.
    if name not in _zones():
        raise InvalidRequest(
            f"{name!r} is not a known IANA timezone (e.g. Europe/Berlin).", code="bad_timezone"
        )
    return name


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def check_currency(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InvalidRequest(
            f"A currency is a three-letter ISO 4217 code such as EUR, not {code!r}.",
            code="bad_currency",
        )
    return code


def check_country(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise InvalidRequest(
            f"A country is a two-letter ISO 3166 code such as DE, not {code!r}.",
            code="bad_country",
        )
    return code


def check_coordinates(latitude: float | None, longitude: float | None) -> None:
    """Both or neither; latitude −90…90, longitude −180…180 (online orders route by them)."""
    if (latitude is None) != (longitude is None):
        raise InvalidRequest(
            "Give both latitude and longitude, or neither.", code="bad_coordinates"
        )
    if latitude is not None and not -90 <= latitude <= 90:
        raise InvalidRequest("Latitude is between -90 and 90.", code="bad_coordinates")
    if longitude is not None and not -180 <= longitude <= 180:
        raise InvalidRequest("Longitude is between -180 and 180.", code="bad_coordinates")


def check_card_reader(reader: str) -> str:
    """'simulated' (demo / training tills) or a Stripe Terminal reader id (tmr_…)."""
    if reader == "simulated" or re.fullmatch(r"tmr_[A-Za-z0-9]{1,96}", reader):
        return reader
    raise InvalidRequest(
        f"A card reader is 'simulated' or a Stripe Terminal reader id (tmr_…), not {reader!r}.",
        code="bad_card_reader",
    )
