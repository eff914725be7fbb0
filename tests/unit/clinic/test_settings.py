import datetime as dt
from pathlib import Path

import pytest

from clinic.settings import OpeningHours, SettingsError, load_settings

VALID = """\
clinic_name: "Test Clinic"
phone: "+1 555 0100 200"
urgent_phone: "+1 555 0100 299"
emergency_number: "911"
opening_hours: "Mon-Fri 08:30-17:00; Sat 09:00-12:00"
timezone: "America/New_York"
website: "https://clinic.example.org"
response_time: "4 working hours"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clinic.yml"
    path.write_text(text)
    return path


def test_repository_settings_file_is_valid():
    settings = load_settings(environ={})
    assert settings.clinic_name
    assert settings.template_values()["emergency_number"] == settings.emergency_number


def test_loads_file_values(tmp_path):
    settings = load_settings(write(tmp_path, VALID), environ={})
    assert settings.clinic_name == "Test Clinic"
    assert settings.phone == "+1 555 0100 200"
    assert settings.website == "https://clinic.example.org"
    assert settings.opening_hours.text == "Mon-Fri 08:30-17:00; Sat 09:00-12:00"


def test_environment_overrides_file(tmp_path):
    env = {"CLINIC_PHONE": "+44 20 7946 0000", "CLINIC_NAME": "Override Clinic"}
    settings = load_settings(write(tmp_path, VALID), environ=env)
    assert settings.phone == "+44 20 7946 0000"
    assert settings.clinic_name == "Override Clinic"
    assert settings.urgent_phone == "+1 555 0100 299"


def test_settings_file_path_from_environment(tmp_path):
    path = write(tmp_path, VALID)
    assert load_settings(environ={"CLINIC_SETTINGS_FILE": str(path)}).clinic_name == "Test Clinic"


def test_invalid_env_phone_names_the_variable(tmp_path):
    with pytest.raises(SettingsError, match="environment variable CLINIC_PHONE .*phone number"):
        load_settings(write(tmp_path, VALID), environ={"CLINIC_PHONE": "call us"})


def test_missing_setting_names_file_and_setting(tmp_path):
    text = VALID.replace('emergency_number: "911"\n', "")
    with pytest.raises(SettingsError, match=r"clinic\.yml: setting 'emergency_number' is missing"):
        load_settings(write(tmp_path, text), environ={})


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('opening_hours: "weekdays nine to five"', "opening_hours.*cannot read"),
        ('opening_hours: "Mon-Fri 17:00-08:00"', "opening time is not before closing"),
        ('opening_hours: "Mon-Fri 08:00-12:00; Fri 13:00-15:00"', "Fri is listed twice"),
        ('timezone: "Mars/Olympus"', "timezone.*IANA"),
        ('website: "clinic.example.org"', "website.*origin"),
        ('website: "https://clinic.example.org/chat"', "website.*origin"),
    ],
)
def test_invalid_values_are_rejected_with_the_setting_named(tmp_path, line, problem):
    key = line.split(":")[0]
    text = "\n".join(line if row.startswith(key + ":") else row for row in VALID.splitlines())
    with pytest.raises(SettingsError, match=problem):
        load_settings(write(tmp_path, text), environ={})


def test_unknown_setting_is_rejected(tmp_path):
    with pytest.raises(SettingsError, match="unknown setting.*fax"):
        load_settings(write(tmp_path, VALID + 'fax: "123"\n'), environ={})


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "absent.yml", environ={})


def test_opening_hours_is_open():
    hours = OpeningHours.parse("Mon-Fri 08:30-17:00; Sat 09:00-12:00")
    monday_morning = dt.datetime(2026, 11, 23, 9, 0)
    assert hours.is_open(monday_morning)
    assert not hours.is_open(monday_morning.replace(hour=8, minute=29))
    assert not hours.is_open(monday_morning.replace(hour=17))
    assert hours.is_open(dt.datetime(2026, 11, 28, 11, 59))  # Saturday
    assert not hours.is_open(dt.datetime(2026, 11, 29, 10, 0))  # Sunday


def test_next_opening():
    hours = OpeningHours.parse("Mon-Fri 08:30-17:00; Sat 09:00-12:00")
    friday_evening = dt.datetime(2026, 11, 27, 18, 0)
    assert hours.next_opening(friday_evening) == dt.datetime(2026, 11, 28, 9, 0)
    saturday_noon = dt.datetime(2026, 11, 28, 12, 30)
    assert hours.next_opening(saturday_noon) == dt.datetime(2026, 11, 30, 8, 30)
    early_monday = dt.datetime(2026, 11, 30, 7, 0)
    assert hours.next_opening(early_monday) == dt.datetime(2026, 11, 30, 8, 30)
