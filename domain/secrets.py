"""Bearer secrets (gift card codes, pickup codes): how they look wherever they are not the owner's.

A gift card code or a pickup code is money or goods to whoever holds it. It is shown in full once,
to whoever created it (the selling till's answer, the receipt, the customer's ready message);
every other view shows `mask(code)`: the last few characters, enough to tell two cards apart.
"""

from __future__ import annotations

HIDDEN = "•"
SHOWN = 4  # characters left visible at most
SEPARATORS = frozenset("- ")


def mask(code: str, *, hidden: str = HIDDEN) -> str:
    """`ABCD-EFGH-JKLM-AB12` -> `••••-••••-••••-AB12`; separators stay where they are.

    At most the last 4 characters show, and never more than a quarter of them, so a short code
    (a 6-digit pickup code) keeps most of its digits hidden: `123456` -> `•••••6`.
    """
    chars = [c for c in code if c not in SEPARATORS]
    keep = min(SHOWN, len(chars) // 4)
    hide = len(chars) - keep
    out, seen = [], 0
    for c in code:
        if c in SEPARATORS:
            out.append(c)
            continue
        out.append(hidden if seen < hide else c)
        seen += 1
    return "".join(out)
