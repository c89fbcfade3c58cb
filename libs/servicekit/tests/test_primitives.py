from __future__ import annotations

from typing import ClassVar

import pytest
from contractor.servicekit import auth
from contractor.servicekit.errors import FieldError, Forbidden, Unauthorized
from contractor.servicekit.pagination import decode_cursor, encode_cursor, paginate
from contractor.servicekit.settings import ServiceSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    default_secrets: ClassVar[dict[str, str]] = {"token": "change-me"}
    token: SecretStr = Field(SecretStr("change-me"), description="A token.")


def test_default_secret_refused_outside_dev_mode() -> None:
    with pytest.raises(ValueError, match="DEMO_TOKEN"):
        DemoSettings()
    assert DemoSettings(dev_mode=True).token.get_secret_value() == "change-me"
    assert DemoSettings(token=SecretStr("real")).dev_mode is False


def test_cursor_round_trip_and_rejects_garbage() -> None:
    for key in ("dc1", 42):
        assert decode_cursor(encode_cursor(key)) == key
    for garbage in ("!!", "e30", ""):
        with pytest.raises(FieldError):
            decode_cursor(garbage)


def test_paginate_cuts_one_extra_row() -> None:
    assert paginate([1, 2, 3], 2, lambda r: r) == ([1, 2], encode_cursor(2))
    assert paginate([1, 2], 2, lambda r: r) == ([1, 2], None)


def test_token_format_hash_and_parse() -> None:
    secret = auth.new_secret()
    token = auth.format_token(17, secret)
    assert len(secret) == 43 and token.startswith("ctr_17_")
    assert auth.parse_token(token) == (17, secret)
    stored = auth.hash_secret(secret)
    assert auth.secret_matches(secret, stored) and not auth.secret_matches(secret + "x", stored)
    for bad in ("ctr_0_" + secret, "ctr_x_" + secret, "ctr_1_short", "tok_1_" + secret):
        with pytest.raises(Unauthorized):
            auth.parse_token(bad)


def test_bearer_header_and_roles() -> None:
    assert auth.bearer_token("Bearer abc") == "abc"
    for header in (None, "", "Basic abc", "Bearer "):
        with pytest.raises(Unauthorized):
            auth.bearer_token(header)
    viewer = auth.Principal(1, "v", auth.Role.VIEWER)
    assert auth.require_role(viewer, auth.READERS) is viewer
    with pytest.raises(Forbidden):
        auth.require_role(viewer, {auth.Role.ADMIN})
    assert viewer.actor() == {"kind": "token", "name": "v", "role": "viewer"}
