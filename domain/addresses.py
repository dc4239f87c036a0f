"""Addresses for carriers (issue 19): a location's one-line address as a structured one."""

from __future__ import annotations

from domain.online_orders import ShippingAddress


def location_address(name: str, text: str, country: str) -> ShippingAddress:
    """ "Rosenthaler Str. 40, 10178 Berlin" -> street line, postcode and city (the European way
    locations are written: street, then "postcode city"; a US "City, ST 12345" keeps its parts)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        return ShippingAddress(name=name, lines=tuple(parts), country=country.upper())
    *street, last = parts
    tokens = last.split()
    postcode, city, region = "", last, ""
    if len(tokens) >= 2 and any(ch.isdigit() for ch in tokens[0]):
        postcode, city = tokens[0], " ".join(tokens[1:])
    elif len(tokens) == 2 and tokens[0].isalpha() and any(ch.isdigit() for ch in tokens[1]):
        region, postcode = tokens  # "CA 94107" after the city
        city = street.pop() if len(street) > 1 else city
    return ShippingAddress(
        name=name,
        lines=tuple(street),
        city=city,
        postcode=postcode,
        region=region,
        country=country.upper(),
    )
