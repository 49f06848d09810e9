"""Pure parts of the worker foundation: tenant options, slot keys, deferral delays,
and the registry that refuses to send before a broker is built."""

from __future__ import annotations

import dramatiq
import pytest

from bureau.tenants.routing import InvalidSlug, TenantRef
from bureau.workers import actors
from bureau.workers.fairness import DEFER_MAX_MS, DEFER_MIN_MS, TENANT_SLOTS_MAX, defer_delay_ms, slot_key
from bureau.workers.registry import UNBOUND, BrokerNotConfigured, declared
from bureau.workers.tenancy import NoTenant, current_tenant, tenant_of, tenant_options


def _message(**options: object) -> dramatiq.Message[None]:
    return dramatiq.Message(queue_name="default", actor_name="ping", args=(), kwargs={}, options=dict(options))


def test_the_tenant_rides_in_the_message_options_and_comes_back() -> None:
    tenant = TenantRef(17, "acme")
    assert tenant_options(tenant) == {"tenant_id": 17, "tenant_slug": "acme"}
    assert tenant_of(_message(**tenant_options(tenant))) == tenant
    assert tenant_of(_message()) is None


@pytest.mark.parametrize(
    "options",
    [{"tenant_id": "17", "tenant_slug": "acme"}, {"tenant_id": 17}, {"tenant_slug": "acme"}, {"tenant_id": True}],
)
def test_a_malformed_tenant_in_a_message_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="malformed tenant"):
        tenant_of(_message(**options))


def test_a_slug_that_cannot_name_a_tenant_is_refused() -> None:
    with pytest.raises(InvalidSlug):
        tenant_of(_message(tenant_id=1, tenant_slug="Robert'); DROP"))


def test_there_is_no_current_tenant_outside_a_message() -> None:
    with pytest.raises(NoTenant):
        current_tenant()


def test_slot_keys_are_int4_and_distinct_per_tenant_and_slot() -> None:
    keys = {slot_key(tenant, slot) for tenant in (1, 2, 3, 2**25 - 1) for slot in range(TENANT_SLOTS_MAX)}
    assert len(keys) == 4 * TENANT_SLOTS_MAX
    assert all(-(2**31) <= key < 2**31 for key in keys | {slot_key(2**40 + 5, 3)})


def test_deferral_delays_grow_and_stay_within_their_bounds() -> None:
    first = [defer_delay_ms(0) for _ in range(200)]
    assert all(DEFER_MIN_MS // 2 <= d <= DEFER_MIN_MS for d in first)
    late = [defer_delay_ms(1_000) for _ in range(200)]
    assert all(DEFER_MAX_MS // 2 <= d <= DEFER_MAX_MS for d in late)


def test_sending_before_a_broker_is_built_says_what_to_do() -> None:
    unbound = type(UNBOUND)()  # a fresh registry: the shared one may be bound by now
    early = dramatiq.Actor(
        actors.ping.fn, broker=unbound, actor_name="ping", queue_name="default", priority=0, options={}
    )
    with pytest.raises(BrokerNotConfigured, match=r"app\.build"):
        early.send()


def test_ping_is_declared_for_the_worker() -> None:
    assert "ping" in {each.actor_name for each in declared()}
