"""Open RADIUS sessions as the API shows them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bureau.platform.sessions.control import LiveSession

from ..scalars import BigInt


@strawberry.type(description="A RADIUS session that is authorised or running.")
class Session:
    id: strawberry.ID
    login: str
    nas_id: strawberry.ID
    acct_session_id: str | None
    state: str = strawberry.field(description="authorized (Accept sent, no Start yet) or open")
    started_at: datetime | None
    seconds: int
    octets_in: BigInt
    octets_out: BigInt
    charged_micros: BigInt
    reserved_micros: BigInt = strawberry.field(description="Prepaid funds held for it (1010 Reserve).")
    disconnect_requested: bool

    @classmethod
    def of(cls, s: LiveSession) -> Session:
        return cls(
            id=strawberry.ID(str(s.id)),
            login=s.login,
            nas_id=strawberry.ID(str(s.nas_id)),
            acct_session_id=s.acct_session_id,
            state=s.state,
            started_at=s.started_at,
            seconds=s.seconds,
            octets_in=BigInt(s.octets_in),
            octets_out=BigInt(s.octets_out),
            charged_micros=BigInt(s.charged_micros),
            reserved_micros=BigInt(s.reserved_micros),
            disconnect_requested=s.disconnect_requested,
        )


@strawberry.type(description="What the NAS answered to the Disconnect-Request.")
class Disconnected:
    session: strawberry.ID
    answer: str = strawberry.field(description="ack, nak:<Error-Cause> or timeout")
