import asyncio

import pytest

from webapp.staff_auth import (
    Refused,
    SignInLimits,
    StaffAuth,
    check_password,
    format_user,
    hash_password,
    parse_accounts,
    parse_users,
)

HOME = "192.0.2.1"


def test_password_hash_round_trip():
    stored = hash_password("correct horse battery")
    assert stored.startswith("pbkdf2_sha256$")
    assert check_password("correct horse battery", stored)
    assert not check_password("wrong", stored)
    assert hash_password("same") != hash_password("same")  # salted


def test_malformed_hash_never_matches():
    assert not check_password("x", "plain-text")
    assert not check_password("x", "md5$1$a$b")


def test_parse_users():
    entry = hash_password("secret password")
    assert parse_users(f"kim:{entry}, lee:{entry}") == {"kim": entry, "lee": entry}
    assert parse_users("") == {}
    with pytest.raises(ValueError, match="kim"):
        parse_users("kim:plaintext")


async def test_sessions_and_api_token():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token="t0ken")
    assert await auth.sign_in("kim", "wrong", HOME) is Refused.WRONG
    assert await auth.sign_in("nobody", "secret password", HOME) is Refused.WRONG
    token = await auth.sign_in("kim", "secret password", HOME)
    session = auth.session(token)
    assert session.user == "kim" and len(session.csrf) >= 32
    auth.logout(token)
    assert auth.session(token) is None
    assert auth.api_allowed("Bearer t0ken")
    assert not auth.api_allowed("Bearer other")
    assert not auth.api_allowed(None)
    assert not StaffAuth(users={}, api_token=None).api_allowed("Bearer ")


async def test_expired_session_is_gone():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token=None)
    token = await auth.sign_in("kim", "secret password", HOME)
    auth.sessions[token].expires = 0
    assert auth.session(token) is None


@pytest.mark.parametrize("hostile", ["\x80", "é", "😀", "\ud800", "Bearer \u0101"])
async def test_non_ascii_secrets_are_refused_not_crashed(hostile):
    # hmac.compare_digest raises TypeError on non-ASCII str: a 500 on the sign-in form.
    from webapp.staff_auth import constant_time_equal

    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token="t0ken")
    assert not constant_time_equal(hostile, "t0ken")
    assert not auth.api_allowed(f"Bearer {hostile}")
    assert await auth.sign_in("kim", hostile, HOME) is Refused.WRONG
    assert await auth.sign_in(hostile, hostile, hostile) is Refused.WRONG
    assert constant_time_equal(hostile, hostile)


async def test_failed_sign_ins_are_limited_per_name_whether_or_not_it_exists():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token=None,
                     limits=SignInLimits(per_account=3, per_address=100))
    for name in ("kim", "nobody"):
        results = [await auth.sign_in(name, "wrong", f"198.51.100.{n}") for n in range(4)]
        assert results == [Refused.WRONG] * 3 + [Refused.TOO_MANY], name
    # Locked: even the right password from a new address, so guessing cannot go on.
    assert await auth.sign_in("kim", "secret password", "203.0.113.9") is Refused.TOO_MANY


async def test_failed_sign_ins_are_limited_per_address():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token=None,
                     limits=SignInLimits(per_account=100, per_address=3))
    results = [await auth.sign_in(f"name-{n}", "wrong", HOME) for n in range(4)]
    assert results == [Refused.WRONG] * 3 + [Refused.TOO_MANY]
    assert await auth.sign_in("kim", "secret password", HOME) is Refused.TOO_MANY
    assert isinstance(await auth.sign_in("kim", "secret password", "192.0.2.2"), str)


async def test_successful_sign_ins_do_not_use_up_the_limit():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token=None,
                     limits=SignInLimits(per_account=2, per_address=2))
    for _ in range(4):
        assert isinstance(await auth.sign_in("kim", "secret password", HOME), str)
    assert await auth.sign_in("kim", "wrong", HOME) is Refused.WRONG


async def test_parallel_attempts_cannot_all_pass_the_check_before_any_failed():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token=None,
                     limits=SignInLimits(per_account=3, per_address=100))
    results = await asyncio.gather(*(auth.sign_in("kim", "wrong", HOME) for _ in range(8)))
    assert sorted(r.name for r in results) == ["TOO_MANY"] * 5 + ["WRONG"] * 3


def test_limits_from_the_environment():
    auth = StaffAuth.from_environment({"STAFF_LOGIN_ACCOUNT_FAILURES": "7",
                                       "STAFF_LOGIN_ADDRESS_FAILURES": "9"})
    assert (auth.limits.per_account.limit, auth.limits.per_address.limit) == (7, 9)
    assert (StaffAuth.from_environment({}).limits.per_account.limit,
            StaffAuth.from_environment({}).limits.per_address.limit) == (5, 20)


def test_roles_from_staff_users_with_staff_as_the_default():
    entry = hash_password("secret password")
    value = f"kim:{entry}, lee:{entry}:clinician, sam:{entry}:staff"
    assert parse_accounts(value) == {"kim": (entry, "staff"), "lee": (entry, "clinician"),
                                     "sam": (entry, "staff")}
    assert parse_users(value) == {"kim": entry, "lee": entry, "sam": entry}
    assert parse_accounts(format_user("lee", entry, "clinician")) == {
        "lee": (entry, "clinician")}
    with pytest.raises(ValueError, match="role"):
        parse_accounts(f"kim:{entry}:admin")
    with pytest.raises(ValueError, match="role"):
        format_user("kim", entry, "admin")


async def test_a_session_carries_the_accounts_role():
    entry = hash_password("secret password")
    auth = StaffAuth.from_environment(
        {"STAFF_USERS": f"kim:{entry},lee:{entry}:clinician"})
    kim = auth.session(await auth.sign_in("kim", "secret password", HOME))
    lee = auth.session(await auth.sign_in("lee", "secret password", HOME))
    assert (kim.role, kim.clinician) == ("staff", False)
    assert (lee.role, lee.clinician) == ("clinician", True)
