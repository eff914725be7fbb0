import pytest

from local.rasa_command import with_api_token


def test_the_token_from_the_environment_turns_the_api_on():
    assert with_api_token(["run", "--port", "5005"], {"RASA_API_TOKEN": "t0k"}) == [
        "run", "--port", "5005", "--enable-api", "--auth-token", "t0k"]


def test_without_a_token_the_api_stays_off():
    assert with_api_token(["run"], {}) == ["run"]
    assert with_api_token(["run"], {"RASA_API_TOKEN": "  "}) == ["run"]


@pytest.mark.parametrize("arguments", [["run", "--auth-token", "t0k"], ["run", "--auth-token=t0k"]])
def test_a_token_on_the_command_line_is_refused(arguments):
    with pytest.raises(SystemExit) as refused:
        with_api_token(arguments, {})
    assert "RASA_API_TOKEN" in str(refused.value)
