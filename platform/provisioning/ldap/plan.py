"""What a sync must change so a directory holds the desired entries (pure).

Entries are matched by DN (`entries.dn_key`: spacing and case do not matter). An entry
on both sides has its differing attributes replaced, an absent attribute being replaced
by no values (which deletes it). Attribute names match case-insensitively
("uidnumber" is "uidNumber") and operational attributes the server keeps by itself are
never compared. An entry whose objectClass set differs is deleted and added again,
because slapd will not change the structural class of an entry in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ldap3.utils.dn import parse_dn

from .entries import Attributes, Entries, dn_key

# Kept by slapd itself (RFC 4512 and OpenLDAP's own); a plain "*" search does not return
# them, but a server or proxy that does must not make every entry look changed.
OPERATIONAL = frozenset(
    name.lower()
    for name in (
        "createTimestamp",
        "modifyTimestamp",
        "creatorsName",
        "modifiersName",
        "entryUUID",
        "entryCSN",
        "entryDN",
        "structuralObjectClass",
        "hasSubordinates",
        "numSubordinates",
        "subschemaSubentry",
        "contextCSN",
        "pwdChangedTime",
        "pwdFailureTime",
        "pwdAccountLockedTime",
        "pwdHistory",
        "pwdGraceUseTime",
        "pwdReset",
        "memberOf",
    )
)
HIDDEN = frozenset({"userpassword"})  # a change is reported without its values
LINES_MAX = 1_000  # lines of a change report; the counts are always complete


@dataclass(frozen=True, slots=True)
class Changes:
    """Entries to add (DN -> attributes), attributes to replace per DN, DNs to delete."""

    add: Mapping[str, Attributes] = field(default_factory=dict)
    replace: Mapping[str, Attributes] = field(default_factory=dict)
    delete: Sequence[str] = ()
    before: Mapping[str, Attributes] = field(default_factory=dict)  # current values, for the report

    @property
    def empty(self) -> bool:
        return not (self.add or self.replace or self.delete)

    def lines(self) -> list[str]:
        """A diff for people: '- dn', '+ dn', and '~ dn: attribute old -> new' per attribute."""
        out = [f"- {dn}" for dn in self.delete]
        out += [f"+ {dn}" for dn in self.add]
        for dn, attributes in self.replace.items():
            before = _folded(self.before.get(dn, {}))
            for name, values in attributes.items():
                old = before.get(name.lower(), [])
                if name.lower() in HIDDEN:
                    out.append(f"~ {dn}: {name} changed")
                else:
                    out.append(f"~ {dn}: {name} {_shown(old)} -> {_shown(values)}")
        if len(out) > LINES_MAX:
            out = [*out[:LINES_MAX], f"... and {len(out) - LINES_MAX} more lines"]
        return out


def _shown(values: Sequence[str]) -> str:
    return "(none)" if not values else ", ".join(repr(value) for value in values)


def _folded(attributes: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Attribute names lower-cased, operational ones left out, values sorted (sets in LDAP)."""
    folded: dict[str, list[str]] = {}
    for name, values in attributes.items():
        if name.lower() not in OPERATIONAL:
            folded.setdefault(name.lower(), []).extend(values)
    return {name: sorted(values) for name, values in folded.items()}


def _classes(attributes: Mapping[str, Sequence[str]]) -> set[str]:
    return {value.lower() for value in _folded(attributes).get("objectclass", [])}


def _depth(dn: str) -> int:
    return len(parse_dn(dn, strip=True))


def plan(desired: Mapping[str, Attributes], current: Mapping[str, Attributes]) -> Changes:
    """The changes that turn `current` (DN -> attributes, from the server) into `desired`.

    Deletions come deepest first, so a hand-made subtree goes child by child.
    """
    current_by_key = {dn_key(dn): dn for dn in current}
    add: Entries = {}
    replace: Entries = {}
    before: Entries = {}
    delete: list[str] = []
    kept: set[str] = set()
    for dn, attributes in desired.items():
        key = dn_key(dn)
        if key not in current_by_key:
            add[dn] = attributes
            continue
        held_dn = current_by_key[key]
        kept.add(key)
        held = current[held_dn]
        if _classes(held) != _classes(attributes):
            delete.append(held_dn)
            add[dn] = attributes
            continue
        want, have = _folded(attributes), _folded(held)
        spelled = {name.lower(): name for name in [*held, *attributes]}  # desired spelling wins
        changed = {
            spelled[name]: [*attributes.get(spelled[name], [])]
            for name in sorted(want.keys() | have.keys())
            if want.get(name, []) != have.get(name, [])
        }
        if changed:
            replace[held_dn] = changed
            before[held_dn] = held
    delete += [dn for key, dn in current_by_key.items() if key not in kept]
    return Changes(
        add=add,
        replace=replace,
        delete=sorted(delete, key=lambda dn: (-_depth(dn), dn_key(dn))),
        before=before,
    )
