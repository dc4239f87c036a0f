"""Rules for staff accounts: who may manage whom, PINs and passwords."""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.errors import InvalidRequest

ROLES = ("cashier", "manager", "fulfilment", "finance", "admin")
# What a store manager may create and look after; every other role is an admin's.
MANAGED_BY_MANAGERS = frozenset({"cashier", "fulfilment"})
TILL_ROLES = frozenset({"cashier", "manager"})  # sign in at a till with staff code + PIN
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
STAFF_CODE = re.compile(r"^[0-9]{3,16}$")
PERMISSIONS = ("catalog",)  # extra rights an admin may grant beyond the role


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise InvalidRequest(
            "A username is 2 to 100 lower-case letters, digits, '.', '_' or '-' "
            f"(starting with a letter or digit), not {username!r}.",
            code="bad_username",
        )
    return username


def check_staff_code(code: str) -> str:
    if not STAFF_CODE.match(code):
        raise InvalidRequest(
            "A staff code is 3 to 16 digits (it is typed on the till's keypad).",
            code="bad_staff_code",
        )
    return code


def check_permissions(permissions: Iterable[str]) -> list[str]:
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise InvalidRequest(
            f"Unknown permission(s) {', '.join(unknown)}; known: {', '.join(PERMISSIONS)}.",
            code="bad_permission",
        )
    return sorted(set(permissions))


def pin_problem(pin: str) -> str | None:
    """Why a PIN is not acceptable, or None: 4 to 8 digits, not one digit repeated, not a run
    (1234, 9876), not two digits alternating (1212) — the first codes anyone tries."""
    if not re.fullmatch(r"[0-9]{4,8}", pin):
        return "A PIN is 4 to 8 digits."
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    if len(set(digits)) == 1:
        return "A PIN of one digit repeated is guessed first; choose another."
    if steps in ({1}, {-1}):
        return "A PIN of consecutive digits (like 1234) is guessed first; choose another."
    if len(set(digits)) == 2 and all(digits[i] == digits[i % 2] for i in range(len(digits))):
        return "A PIN of two alternating digits (like 1212) is guessed first; choose another."
    if pin in _COMMON_PINS:
        return "That PIN is on every list of common PINs; choose another."
    return None


# Beyond the patterns above: the PINs people choose most (published PIN frequency studies).
_COMMON_PINS = frozenset(
    {
        "1004",
        "2000",
        "1122",
        "6969",
        "4321",
        "1313",
        "2001",
        "1010",
        "7777",
        "2580",
        "0852",
        "1984",
        "1998",
        "1999",
        "12341234",
        "11223344",
        "0007",
        "1231",
        "5683",
        "123123",
    }
)


def check_pin(pin: str) -> str:
    problem = pin_problem(pin)
    if problem:
        raise InvalidRequest(problem, code="weak_pin")
    return pin


def password_problem(
    password: str, *, user_inputs: Iterable[str] = (), min_length: int = 10, min_score: int = 3
) -> str | None:
    """Why a password is too weak, or None: long enough, and zxcvbn's guess-count score (0–4) at
    least `min_score`, with the person's own name and username counted as known words."""
    from zxcvbn import zxcvbn  # a dictionary-backed estimator: loaded on the first check only

    if len(password) < min_length:
        return f"A password has at least {min_length} characters."
    if len(password) > 200:
        return "A password has at most 200 characters."
    words = [u for u in user_inputs if u]
    # "Pat Person" is also guessed as patperson, pat.person, …: the joined name is a known word.
    words += ["".join(w.split()) for w in words if " " in w] + [p for w in words for p in w.split()]
    result = zxcvbn(password, user_inputs=words)
    if int(result["score"]) >= min_score:
        return None
    feedback = result.get("feedback", {})
    hints = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
    detail = " ".join(h for h in hints if h)
    return "That password is too easy to guess." + (f" {detail}" if detail else "")


def check_password(
    password: str, *, user_inputs: Iterable[str] = (), min_length: int = 10, min_score: int = 3
) -> str:
    problem = password_problem(
        password, user_inputs=user_inputs, min_length=min_length, min_score=min_score
    )
    if problem:
        raise InvalidRequest(problem, code="weak_password")
    return password
