"""Pure rules of a journal entry: shape, balance per unit, canonical content hash."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.ledger.chart import SESSIONS
from bureau.platform.ledger.errors import InvalidEntry, UnbalancedEntry
from bureau.platform.ledger.rules import (
    MAX_ABS_AMOUNT,
    MAX_DESCRIPTION_LENGTH,
    MAX_KEY_LENGTH,
    MAX_POSTINGS,
    NewEntry,
    NewPosting,
    balance_deltas,
    content_hash,
    credit,
    debit,
    validate_entry,
)

DOLLAR = 1_000_000


def entry(*postings: NewPosting, key: str = "k-1", description: str = "test", metadata: dict | None = None) -> NewEntry:
    return NewEntry(key, description, tuple(postings), metadata or {})


def test_a_balanced_two_legged_entry_validates() -> None:
    validate_entry(entry(debit(1, DOLLAR, "USD"), credit(2, DOLLAR, "USD")))


def test_debit_is_positive_and_credit_negative() -> None:
    assert debit(7, 5, "USD") == NewPosting(7, 5, "USD")
    assert credit(7, 5, "USD") == NewPosting(7, -5, "USD")


def test_an_entry_balanced_in_money_and_sessions_separately_validates() -> None:
    validate_entry(
        entry(
            debit(1, DOLLAR, "USD"),
            credit(2, DOLLAR, "USD"),
            debit(3, 1, SESSIONS),
            credit(4, 1, SESSIONS),
        )
    )


def test_an_unbalanced_entry_is_refused_naming_the_unit_and_difference() -> None:
    with pytest.raises(UnbalancedEntry, match=r"entry 'k-1' does not balance: USD off by \+1 "):
        validate_entry(entry(debit(1, DOLLAR + 1, "USD"), credit(2, DOLLAR, "USD")))


def test_sessions_cannot_balance_money() -> None:
    # Sums to zero overall, but not per unit: one session is not one micro-dollar.
    with pytest.raises(UnbalancedEntry, match=r"SESSIONS off by -1, USD off by \+1"):
        validate_entry(entry(debit(1, 1, "USD"), credit(2, 1, SESSIONS)))


def test_two_currencies_cannot_balance_each_other() -> None:
    with pytest.raises(UnbalancedEntry, match=r"EUR off by -1000000, USD off by \+1000000"):
        validate_entry(entry(debit(1, DOLLAR, "USD"), credit(2, DOLLAR, "EUR")))


def test_a_zero_amount_is_refused() -> None:
    with pytest.raises(InvalidEntry, match=r"posting 2 of 'k-1': amount 0 is zero or out of range"):
        validate_entry(entry(debit(1, DOLLAR, "USD"), credit(2, 0, "USD"), credit(3, DOLLAR, "USD")))


@pytest.mark.parametrize("amount", [1.0, 0.5, True, "1000000", None])
def test_a_non_integer_amount_is_refused(amount: object) -> None:
    bad = NewPosting(2, amount, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidEntry, match=r"posting 2 of 'k-1': amount must be an integer .*\(micro-units\)"):
        validate_entry(entry(debit(1, 1, "USD"), bad))


def test_an_amount_beyond_the_limit_is_refused() -> None:
    with pytest.raises(InvalidEntry, match=r"out of range"):
        validate_entry(entry(debit(1, MAX_ABS_AMOUNT + 1, "USD"), credit(2, MAX_ABS_AMOUNT + 1, "USD")))
    validate_entry(entry(debit(1, MAX_ABS_AMOUNT, "USD"), credit(2, MAX_ABS_AMOUNT, "USD")))


@pytest.mark.parametrize("account_id", [0, -1, 1.0, True, "1", None])
def test_an_account_id_must_be_a_positive_integer(account_id: object) -> None:
    bad = NewPosting(account_id, -1, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidEntry, match=r"posting 2 of 'k-1': account id must be a positive integer"):
        validate_entry(entry(debit(1, 1, "USD"), bad))


@pytest.mark.parametrize("unit", ["", None])
def test_a_posting_without_a_unit_is_refused(unit: object) -> None:
    with pytest.raises(InvalidEntry, match=r"posting 1 of 'k-1': unit is missing"):
        validate_entry(entry(NewPosting(1, 1, unit), credit(2, 1, "USD")))  # type: ignore[arg-type]


def test_too_many_postings_are_refused() -> None:
    legs = [debit(1, 1, "USD") for _ in range(MAX_POSTINGS)] + [credit(2, MAX_POSTINGS, "USD")]
    with pytest.raises(InvalidEntry, match=rf"has {MAX_POSTINGS + 1} postings; an entry needs 2 to {MAX_POSTINGS}"):
        validate_entry(entry(*legs))
    exactly_max = [*legs[: MAX_POSTINGS - 1], credit(2, MAX_POSTINGS - 1, "USD")]
    assert len(exactly_max) == MAX_POSTINGS
    validate_entry(entry(*exactly_max))


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_postings_are_refused(count: int) -> None:
    legs = [debit(1, 1, "USD")][:count]
    with pytest.raises(InvalidEntry, match=rf"has {count} postings; an entry needs 2"):
        validate_entry(entry(*legs))


@pytest.mark.parametrize("key", ["", "   ", "x" * (MAX_KEY_LENGTH + 1), None, 42])
def test_an_empty_blank_overlong_or_non_text_key_is_refused(key: object) -> None:
    with pytest.raises(InvalidEntry, match=rf"idempotency key must be 1 to {MAX_KEY_LENGTH} characters"):
        validate_entry(entry(debit(1, 1, "USD"), credit(2, 1, "USD"), key=key))  # type: ignore[arg-type]


def test_a_key_of_the_maximum_length_is_accepted() -> None:
    validate_entry(entry(debit(1, 1, "USD"), credit(2, 1, "USD"), key="x" * MAX_KEY_LENGTH))


@pytest.mark.parametrize("description", ["d" * (MAX_DESCRIPTION_LENGTH + 1), None, 5])
def test_an_overlong_or_non_text_description_is_refused(description: object) -> None:
    with pytest.raises(InvalidEntry, match=rf"description must be text of at most {MAX_DESCRIPTION_LENGTH}"):
        validate_entry(entry(debit(1, 1, "USD"), credit(2, 1, "USD"), description=description))  # type: ignore[arg-type]


def test_content_hash_ignores_posting_order() -> None:
    legs = (
        debit(1, 3 * DOLLAR, "USD"),
        credit(2, DOLLAR, "USD"),
        credit(3, 2 * DOLLAR, "USD"),
        debit(4, 1, SESSIONS),
        credit(5, 1, SESSIONS),
    )
    reordered = (legs[4], legs[2], legs[0], legs[3], legs[1])
    assert content_hash(entry(*legs)) == content_hash(entry(*reordered))


def test_content_hash_ignores_the_key_and_metadata_key_order() -> None:
    legs = (debit(1, 1, "USD"), credit(2, 1, "USD"))
    a = entry(*legs, key="a", metadata={"x": 1, "y": [1, 2]})
    b = entry(*legs, key="b", metadata={"y": [1, 2], "x": 1})
    assert content_hash(a) == content_hash(b)


@pytest.mark.parametrize(
    "other",
    [
        entry(debit(1, 2, "USD"), credit(2, 2, "USD")),  # amount
        entry(debit(1, 1, "USD"), credit(3, 1, "USD")),  # account
        entry(debit(1, 1, "EUR"), credit(2, 1, "EUR")),  # unit
        entry(debit(2, 1, "USD"), credit(1, 1, "USD")),  # direction
        entry(debit(1, 1, "USD"), credit(2, 1, "USD"), description="other"),
        entry(debit(1, 1, "USD"), credit(2, 1, "USD"), metadata={"note": "x"}),
    ],
)
def test_content_hash_changes_with_any_content(other: NewEntry) -> None:
    assert content_hash(entry(debit(1, 1, "USD"), credit(2, 1, "USD"))) != content_hash(other)


def test_balance_deltas_follow_each_accounts_normal_side() -> None:
    # 1 is debit-normal (cash), 2 credit-normal (subscriber main balance).
    deltas = balance_deltas([entry(debit(1, 5, "USD"), credit(2, 5, "USD"))], {1: 1, 2: -1})
    assert deltas == {1: 5, 2: 5}


# --- properties ----------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=10**12)
units = st.sampled_from(["USD", "EUR", SESSIONS])


@st.composite
def balanced_postings(draw: st.DrawFn) -> list[NewPosting]:
    """Random postings that balance in every unit: per unit, debits then one or more credits."""
    postings: list[NewPosting] = []
    for unit in draw(st.lists(units, min_size=1, max_size=3, unique=True)):
        debits = draw(st.lists(amounts, min_size=1, max_size=6))
        total = sum(debits)
        cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=total - 1), max_size=4))) if total > 1 else []
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        postings += [debit(draw(st.integers(1, 10_000)), amount, unit) for amount in debits]
        postings += [credit(draw(st.integers(1, 10_000)), amount, unit) for amount in credits]
    return draw(st.permutations(postings))


@given(balanced_postings())
def test_any_balanced_set_of_postings_validates(postings: list[NewPosting]) -> None:
    validate_entry(entry(*postings))


@given(balanced_postings(), st.data())
def test_changing_any_one_amount_makes_the_entry_unbalanced(postings: list[NewPosting], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(postings) - 1))
    target = postings[index]
    change = data.draw(st.integers(min_value=-(10**6), max_value=10**6).filter(lambda d: d != 0))
    if target.amount + change == 0:
        change += 1 if change > 0 else -1
    perturbed = [*postings]
    perturbed[index] = NewPosting(target.account_id, target.amount + change, target.unit)
    with pytest.raises(UnbalancedEntry, match=re.escape(f"{target.unit} off by {change:+d}")):
        validate_entry(entry(*perturbed))


@given(balanced_postings(), st.randoms(use_true_random=False))
def test_content_hash_of_a_balanced_entry_does_not_depend_on_order(postings: list[NewPosting], rnd) -> None:
    shuffled = [*postings]
    rnd.shuffle(shuffled)
    assert content_hash(entry(*postings)) == content_hash(entry(*shuffled))


# --- metadata ---------------------------------------------------------------------------


def test_metadata_of_json_values_validates() -> None:
    validate_entry(
        entry(
            debit(1, 1, "USD"),
            credit(2, 1, "USD"),
            metadata={
                "nas": "10.0.0.1",
                "octets": 2**40,
                "ok": True,
                "none": None,
                "tags": ["a", 1, [False]],
                "nested": {"rate": "0.000333"},
            },
        )
    )


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"rate": 0.5}, r"entry 'k-1': metadata\.rate is a float \(0\.5\); write it as an integer or a decimal"),
        ({"a": {"b": [1, 1e16]}}, r"metadata\.a\.b\[1\] is a float \(1e\+16\)"),
        ({"nan": float("nan")}, r"metadata\.nan is a float"),
        ({1: "x"}, r"metadata has a key 1 that is not text"),
        ({"when": object()}, r"metadata\.when holds a object, which JSON cannot hold"),
        ({"raw": b"\x00"}, r"metadata\.raw holds a bytes"),
        ({"many": list(range(2000))}, r"metadata holds more than 1000 values"),
        ([("a", 1)], r"metadata must be a mapping, got list"),
    ],
)
def test_metadata_that_would_not_survive_jsonb_unchanged_is_refused(metadata: object, message: str) -> None:
    with pytest.raises(InvalidEntry, match=message):
        validate_entry(entry(debit(1, 1, "USD"), credit(2, 1, "USD"), metadata=metadata))  # type: ignore[arg-type]


def test_metadata_that_refers_to_itself_is_refused_rather_than_looping() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(InvalidEntry, match=r"more than 1000 values"):
        validate_entry(entry(debit(1, 1, "USD"), credit(2, 1, "USD"), metadata=loop))
