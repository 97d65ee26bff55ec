"""Money written as text ("$60,000.00 ", "-$1,234.50", "(1,234.50)"): one parse rule for every path.

A numeric column recognised as money records ``"parse": "money"`` in ``preprocessor.json``; the
pandas Preprocessor (training), the runtime Encoder's record fast path and its Arrow path all
read its text with the pattern below, so a value means the same number everywhere. Imports
nothing but the standard library (the runtime must stay torch- and pandas-free).

The rule, on the text with surrounding whitespace removed: an optional ``-``, an optional
``$``, digits (optionally in groups of three separated by ``,``) with an optional decimal part;
or ``$-`` before the digits; or the digits (with an optional ``$``) in parentheses, the
accountants' negative. Text that does not have this form is read as a plain number
("1e5", "7"), as any numeric column; anything else is refused as text.
"""

from __future__ import annotations

import re

__all__ = ["MONEY", "MONEY_PATTERN", "money_value"]

#: The parse rule's name in ``preprocessor.json``.
MONEY = "money"

# ASCII digits only ([0-9], not \d, which Python reads as any Unicode digit while Arrow's RE2
# reads ASCII): the paths must agree on every text.
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+"
#: Named groups: ``sign`` ("-" or ""), and the digits in exactly one of ``a`` (sign before or no
#: sign), ``b`` ("$-" form, negative) and ``c`` (parentheses, negative). RE2 (Arrow) and Python
#: ``re`` read it alike.
MONEY_PATTERN = (rf"^(?P<sign>-?)\$?(?P<a>{_DIGITS})$|^\$-(?P<b>{_DIGITS})$|^\(\$?(?P<c>{_DIGITS})\)$")
_MONEY_RE = re.compile(rf"(?P<sign>-?)\$?(?P<a>{_DIGITS})|\$-(?P<b>{_DIGITS})|\(\$?(?P<c>{_DIGITS})\)")


def money_value(text: str) -> float | None:
    """The number ``text`` (already stripped) writes as money, or None when it is not money text.

    >>> money_value("$60,000.00"), money_value("(1,234.50)"), money_value("N/A")
    (60000.0, -1234.5, None)
    """
    match = _MONEY_RE.fullmatch(text)  # fullmatch: "$" in Python also matches before a final newline
    if match is None:
        return None
    digits = match["a"] or match["b"] or match["c"]
    value = float(digits.replace(",", ""))
    negative = match["sign"] == "-" or bool(match["b"]) or bool(match["c"])
    return -value if negative else value


def looks_like_money(text: str) -> bool:
    """True for money text that a plain number parser would not read ("$5", "1,000", "(3)")."""
    return money_value(text) is not None and any(ch in text for ch in "$,(")
