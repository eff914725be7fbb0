import pytest

from webapp.staff_auth import StaffAuth, check_password, hash_password, parse_users


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


def test_sessions_and_api_token():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token="t0ken")
    assert auth.login("kim", "wrong") is None
    assert auth.login("nobody", "secret password") is None
    token = auth.login("kim", "secret password")
    session = auth.session(token)
    assert session.user == "kim" and len(session.csrf) >= 32
    auth.logout(token)
    assert auth.session(token) is None
    assert auth.api_allowed("Bearer t0ken")
    assert not auth.api_allowed("Bearer other")
    assert not auth.api_allowed(None)
    assert not StaffAuth(users={}, api_token=None).api_allowed("Bearer ")


def test_expired_session_is_gone():
    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token=None)
    token = auth.login("kim", "secret password")
    auth.sessions[token].expires = 0
    assert auth.session(token) is None


@pytest.mark.parametrize("hostile", ["\x80", "é", "😀", "\ud800", "Bearer \u0101"])
def test_non_ascii_secrets_are_refused_not_crashed(hostile):
    # hmac.compare_digest raises TypeError on non-ASCII str: a 500 on the sign-in form.
    from webapp.staff_auth import constant_time_equal

    auth = StaffAuth(users={"kim": hash_password("secret password")}, api_token="t0ken")
    assert not constant_time_equal(hostile, "t0ken")
    assert not auth.api_allowed(f"Bearer {hostile}")
    assert auth.login("kim", hostile) is None
    assert auth.login(hostile, hostile) is None
    assert constant_time_equal(hostile, hostile)
