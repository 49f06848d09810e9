"""Options of a FreeRADIUS SQL target from staff's JSON: a URL without password, checked values."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.formats.base import OptionsError
from bureau.platform.provisioning.radius_sql.options import RadiusSqlOptions, options_from


def test_defaults_are_the_users_formats_and_the_public_schema() -> None:
    options = options_from({"url": "postgresql://bureau@db.isp.example:5433/radius"})

    assert options == RadiusSqlOptions(url="postgresql://bureau@db.isp.example:5433/radius")
    assert options.schema == "public" and options.group is None and options.priority == 1
    assert options.reply == (("Service-Type", "Framed-User"), ("Framed-Protocol", "PPP"))
    assert options.kinds == ("radius_login",)
    assert options.where() == "bureau@db.isp.example:5433/radius"


def test_a_unix_socket_folder_may_stand_for_the_host() -> None:
    options = options_from({"url": "postgresql://bureau@/radius?host=/run/postgresql"})

    assert options.where() == "bureau@/run/postgresql/radius"


def test_reply_items_are_taken_as_an_object_in_order() -> None:
    options = options_from({"url": "postgres://u@h/d", "reply": {"Framed-Pool": "pool1", "Idle-Timeout": "600"}})

    assert options.reply == (("Framed-Pool", "pool1"), ("Idle-Timeout", "600"))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://bureau:s3cret@db/radius", "give it as the target's secret"),
        ("postgresql://bureau@db/radius?password=s3cret", "give it as the target's secret"),
        ("mysql://bureau@db/radius", "must be a PostgreSQL URL"),
        ("postgresql://db/radius", "names no user"),
        ("postgresql://bureau@db", "names no database"),
        ("postgresql://bureau@/radius", "names no host or ?host= socket folder"),
        ("postgresql://bureau@db/radius?options=-c%20x", "may have only"),
        ("postgresql://bureau@db:0/radius", "port 0"),
        ("postgresql://bureau@db:port/radius", "cannot be read"),
    ],
)
def test_a_url_that_cannot_be_used_is_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(OptionsError, match=None) as raised:
        options_from({"url": url})

    assert says in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ({"schema": "Radius"}, "lower-case PostgreSQL name"),
        ({"schema": "a;drop"}, "lower-case PostgreSQL name"),
        ({"group": ""}, "group '' must be non-empty"),
        ({"group": "'broadband'"}, "rlm_sql reads as quoting"),
        ({"priority": -1}, "out of range"),
        ({"priority": True}, "must be an integer"),
        ({"reply": {"Bad Name": "x"}}, "is not a RADIUS attribute name"),
        ({"reply": {"Filter-Id": "`%{exec:/bin/sh}`"}}, "rlm_sql reads as quoting"),
        ({"suspended_message": '"Suspended"'}, "rlm_sql reads as quoting"),
        ({"suspended_message": "a\nb"}, "control characters"),
        ({"kinds": []}, "kinds must be ['radius_login']"),
        ({"kinds": ["mailbox"]}, "must be one of 'radius_login'"),
        ({"timeout_s": 0}, "out of range 1..300"),
        ({"password": "x"}, "has no option 'password'"),
    ],
)
def test_an_option_that_cannot_be_used_is_refused_by_name(mapping: dict[str, object], says: str) -> None:
    with pytest.raises(OptionsError) as raised:
        options_from({"url": "postgresql://bureau@db/radius", **mapping})

    assert says in str(raised.value)
