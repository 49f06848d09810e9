"""Chart-of-accounts templates hold the accounts DESIGN.md §3 "Ledger" requires."""

from __future__ import annotations

import pytest

from bureau.platform.ledger.chart import (
    HOT_ACCOUNT_SHARDS,
    SESSIONS,
    TEMPLATES,
    AccountTemplate,
    EntityKind,
    Guard,
    Side,
    template_account,
    template_for,
)


def codes(kind: EntityKind) -> set[str]:
    return {t.code for t in template_for(kind)}


def names(kind: EntityKind) -> str:
    return " | ".join(t.name.lower() for t in template_for(kind))


def test_every_entity_kind_has_a_template() -> None:
    assert set(TEMPLATES) == set(EntityKind)


@pytest.mark.parametrize("kind", list(EntityKind))
def test_account_codes_are_unique_within_a_template(kind: EntityKind) -> None:
    template = template_for(kind)
    assert len({t.code for t in template}) == len(template)
    assert all(t.code.isdigit() and len(t.code) == 4 for t in template)


def test_subscriber_chart_has_main_balance_reserve_session_count_and_amount_used() -> None:
    assert {"1000", "1010", "8000", "9000"} <= codes(EntityKind.SUBSCRIBER)
    main = template_account(EntityKind.SUBSCRIBER, "1000")
    reserve = template_account(EntityKind.SUBSCRIBER, "1010")
    sessions = template_account(EntityKind.SUBSCRIBER, "8000")
    used = template_account(EntityKind.SUBSCRIBER, "9000")
    assert "main balance" in main.name.lower()
    assert "reserve" in reserve.name.lower()
    assert sessions.unit("USD") == SESSIONS
    assert main.unit("USD") == reserve.unit("USD") == used.unit("USD") == "USD"


def test_subscriber_chart_has_receivable_and_deposit_accounts() -> None:
    assert "receivable" in names(EntityKind.SUBSCRIBER)
    assert "deposit" in names(EntityKind.SUBSCRIBER)


def test_prepaid_main_balance_has_a_zero_floor_and_post_paid_has_none() -> None:
    main = template_account(EntityKind.SUBSCRIBER, "1000")
    assert main.floor(prepaid=True) == 0
    assert main.floor(prepaid=False) is None


@pytest.mark.parametrize("code", ["1010", "8000"])
def test_reserve_and_session_count_can_never_go_negative_even_post_paid(code: str) -> None:
    account = template_account(EntityKind.SUBSCRIBER, code)
    assert account.floor(prepaid=True) == 0
    assert account.floor(prepaid=False) == 0


@pytest.mark.parametrize(
    "account",
    [
        "revenue",
        "tax payable",
        "cash clearing",
        "voucher liability",
        "total active sessions",
        "reseller commission payable",
    ],
)
def test_isp_chart_has_the_accounts_design_requires(account: str) -> None:
    assert account in names(EntityKind.ISP), f"ISP chart has no {account!r} account"


def test_isp_has_revenue_by_product_and_clearing_per_payment_method() -> None:
    isp = template_for(EntityKind.ISP)
    revenue = [t for t in isp if t.name.lower().startswith("revenue")]
    clearing = [t for t in isp if t.name.lower().startswith("cash clearing")]
    assert len(revenue) >= 2
    assert len(clearing) >= 2
    assert all(t.side is Side.CREDIT for t in revenue)
    assert all(t.side is Side.DEBIT for t in clearing)


def test_every_subscriber_counter_is_paired_with_an_isp_control_account_of_the_same_unit() -> None:
    sessions = template_account(EntityKind.SUBSCRIBER, "8000")
    total = [t for t in template_for(EntityKind.ISP) if t.sessions]
    assert len(total) == 1 and "total active sessions" in total[0].name.lower()
    # The pair balances: raising one raises the other from the opposite side.
    assert sessions.side is Side.DEBIT and total[0].side is Side.CREDIT
    used = template_account(EntityKind.SUBSCRIBER, "9000")
    control = [t for t in template_for(EntityKind.ISP) if "amount used" in t.name.lower()]
    assert len(control) == 1 and used.side is not control[0].side


def test_only_session_counters_are_counted_in_sessions() -> None:
    for kind in EntityKind:
        for t in template_for(kind):
            assert (t.unit("EUR") == SESSIONS) == t.sessions
            assert t.unit("EUR") in ("EUR", SESSIONS)


def test_hot_isp_accounts_are_spread_over_shards_and_are_never_guarded() -> None:
    isp = template_for(EntityKind.ISP)
    hot = {t.code for t in isp if t.hot}
    revenue_usage = next(t for t in isp if t.name.lower() == "revenue: usage")
    total_sessions = next(t for t in isp if t.sessions)
    assert {revenue_usage.code, total_sessions.code} <= hot
    for t in isp:
        assert t.shards == (HOT_ACCOUNT_SHARDS if t.hot else 1)
        if t.hot:
            # a floor is checked per shard row, so it cannot hold on a sharded account
            assert t.guard is Guard.NONE


def test_credit_normal_accounts_have_sign_minus_one() -> None:
    assert Side.DEBIT.sign == 1
    assert Side.CREDIT.sign == -1


def test_reseller_chart_has_a_balance_and_commission_earned() -> None:
    assert {"1000", "2300"} <= codes(EntityKind.RESELLER)
    assert "commission" in names(EntityKind.RESELLER)


def test_unknown_template_account_names_the_chart() -> None:
    with pytest.raises(KeyError, match=r"subscriber chart has no account 4000"):
        template_account(EntityKind.SUBSCRIBER, "4000")


def test_account_template_is_immutable() -> None:
    account = AccountTemplate("1234", "x", Side.DEBIT)
    with pytest.raises(AttributeError):
        account.code = "9999"  # type: ignore[misc]
