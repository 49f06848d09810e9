"""Which input field a platform message is about (graphql.errors.field_paths)."""

from __future__ import annotations

import strawberry

from bureau.graphql.errors import field_paths


@strawberry.input
class Address:
    country: str


@strawberry.input
class Step:
    days: int
    action: str


@strawberry.input
class Given:
    name: str
    email: str
    rate_bp: int
    amount_micros: int
    address: Address


GIVEN = Given(name="T", email="bob@", rate_bp=-1, amount_micros=1, address=Address(country="Narnia"))


def test_the_field_whose_value_the_message_quotes() -> None:
    assert field_paths("email 'bob@' is not an address", GIVEN) == [["input", "email"]]
    assert field_paths("country 'Narnia' is not an ISO 3166 code", GIVEN) == [["input", "address", "country"]]


def test_a_quoted_value_and_a_named_field_beat_a_quoted_value_alone() -> None:
    message = "rate of tax 'T' (basis points) must be between 0 and 10000, got -1"
    assert field_paths(message, GIVEN) == [["input", "rateBp"]]


def test_an_amount_is_found_as_the_message_writes_it_with_its_currency() -> None:
    assert field_paths("0.000001 USD is not a whole number of USD minor units", GIVEN) == [["input", "amountMicros"]]
    assert field_paths("a reason of 1 to 500 characters is required", GIVEN) == []  # "1" alone is not the amount


def test_arguments_and_lists_of_inputs() -> None:
    assert field_paths("plan 'gold' does not exist", {"id": "7", "plan": "gold"}) == [["plan"]]
    steps = {"steps": [Step(days=7, action="remind"), Step(days=400, action="suspend")]}
    assert field_paths("a step is 1 to 365 days overdue, got 400", steps) == [["steps", "1", "days"]]


def test_a_message_about_no_field_has_no_path() -> None:
    assert field_paths("the books are closed for this period", GIVEN) == []
