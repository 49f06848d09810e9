"""Text an invoice PDF can print: Helvetica covers Latin-1 only.

The PDF renderer passes every piece of user text through `printable`; the JSON
rendering keeps text exactly as given. See docs/invoices.md for the limitation.
"""

from __future__ import annotations

import unicodedata

PRINTABLE_MAX_CHARS = 2_000  # matches document.MAX_TEXT_CHARS; a cap for the renderer alone

_LOOKALIKES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "\u00b7",
    "\u20ac": "EUR",
    "\u2122": "TM",
    "\u00a0": " ",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
}


def printable(text: str) -> str:
    """`text` reduced to what Helvetica (Latin-1) can print; never raises.

    Control characters become spaces, formatting characters (bidi marks, zero-width
    joiners) vanish, letters with accents keep them when Latin-1 has them or lose them
    otherwise, and whatever is left outside Latin-1 becomes "?".
    """
    out: list[str] = []
    for char in text[:PRINTABLE_MAX_CHARS]:
        if char in _LOOKALIKES:
            out.append(_LOOKALIKES[char])
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            out.append(" ")
        elif category == "Cf" or category == "Mn":
            continue
        elif ord(char) < 256:
            out.append(char)
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) != "Mn")
            out.append(base if base and all(" " <= c <= "\u00ff" for c in base) else "?")
    return "".join(out)
