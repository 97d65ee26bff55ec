"""Money and percentages written as text ("$60,000.00 ", "(1,234.50)", "13.56%"): one parse rule
each for every path.

A numeric column recognised as money records ``"parse": "money"`` in ``preprocessor.json``; the
pandas Preprocessor (training), the runtime Encoder's record fast path and its Arrow path all
read its text with the pattern below, so a value means the same number everywhere. Imports
nothing but the standard library (the runtime must stay torch- and pandas-free).

The rule, on the text with surrounding whitespace removed: an optional ``-``, an optional
``$``, digits (optionally in groups of three separated by ``,``) with an optional decimal part;
or ``$-`` before the digits; or the digits (with an optional ``$``) in parentheses, the
accountants' negative. Text that does not have this form is read as a plain number
("1e5", "7"), as any numeric column; anything else is refused as text.

A column of percentages ("13.56%", "45.3 %": a loan book's interest rate and revolving
utilisation) records ``"parse": "percent"``: an optional ``-``, the digits as above, an optional
space and ``%``. The number is the one written, 13.56 for "13.56%" (not 0.1356), so that the
plain number 13.56, as a Parquet copy of the column holds it, means the same. Neither rule reads
the other's text: "$5" in a percentage column, or "5%" in an amount column, is refused.
"""

from __future__ import annotations

import re

__all__ = ["MONEY", "MONEY_PATTERN", "PERCENT", "PERCENT_PATTERN", "looks_like_money", "money_value", "percent_value", "text_value"]

#: The parse rules' names in ``preprocessor.json``.
MONEY = "money"
PERCENT = "percent"

# ASCII digits only ([0-9], not \d, which Python reads as any Unicode digit while Arrow's RE2
# reads ASCII): the paths must agree on every text.
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+"
#: Named groups: ``sign`` ("-" or ""), and the digits in exactly one of ``a`` (sign before or no
#: sign), ``b`` ("$-" form, negative) and ``c`` (parentheses, negative). RE2 (Arrow) and Python
#: ``re`` read it alike.
MONEY_PATTERN = (rf"^(?P<sign>-?)\$?(?P<a>{_DIGITS})$|^\$-(?P<b>{_DIGITS})$|^\(\$?(?P<c>{_DIGITS})\)$")
_MONEY_RE = re.compile(rf"(?P<sign>-?)\$?(?P<a>{_DIGITS})|\$-(?P<b>{_DIGITS})|\(\$?(?P<c>{_DIGITS})\)")
#: The percent rule: groups ``sign`` and ``a`` as in MONEY_PATTERN.
PERCENT_PATTERN = rf"^(?P<sign>-?)(?P<a>{_DIGITS}) ?%$"
_PERCENT_RE = re.compile(rf"(?P<sign>-?)(?P<a>{_DIGITS}) ?%")


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


def percent_value(text: str) -> float | None:
    """The number ``text`` (already stripped) writes as a percentage, or None when it is not one.

    >>> percent_value("13.56%"), percent_value("-0.5 %"), percent_value("13.56")
    (13.56, -0.5, None)
    """
    match = _PERCENT_RE.fullmatch(text)
    if match is None:
        return None
    value = float(match["a"].replace(",", ""))
    return -value if match["sign"] == "-" else value


def text_value(text: str, rule: str | bool) -> float | None:
    """The number ``text`` (already stripped) writes under ``rule`` (MONEY or PERCENT; True: either,
    money first, for readers that describe a column the model has read already), or None."""
    if rule is True:
        found = money_value(text)
        return percent_value(text) if found is None else found
    return percent_value(text) if rule == PERCENT else money_value(text)
