"""`serve --time-zone`: the server's "today" is the users' day, not the machine's.

Two zones far from UTC, 14 hours ahead and 12 behind: at any hour of the run at least one of them has
another date than UTC, so these tests notice a process that takes the machine's day.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from annex_gen.cli import main
from browser_support import Server

FAR_ZONES = ["Pacific/Kiritimati", "Etc/GMT+12"]
PROCESS_DAY = ("import datetime, sys\nfrom annex_gen.cli.common import local_time_zone\n"
               "with local_time_zone(sys.argv[1]):\n    print(datetime.date.today().isoformat())")


def zone_days(zone: str) -> set[str]:
    """The zone's date now: either side of a midnight the check may straddle."""
    now = dt.datetime.now(ZoneInfo(zone))
    return {now.date().isoformat(), (now - dt.timedelta(minutes=5)).date().isoformat()}


@pytest.mark.parametrize("zone", FAR_ZONES)
def test_a_process_given_a_zone_takes_its_day_as_today(zone: str) -> None:
    done = subprocess.run([sys.executable, "-c", PROCESS_DAY, zone], capture_output=True, text=True,
                          env={**os.environ, "TZ": "UTC"}, check=True)
    assert done.stdout.strip() in zone_days(zone)


def test_the_zone_is_the_machines_again_when_the_command_ends() -> None:
    code = PROCESS_DAY + "\nimport os, time\nprint(os.environ.get('TZ'), time.localtime().tm_gmtoff)"
    done = subprocess.run([sys.executable, "-c", code, "Pacific/Kiritimati"], capture_output=True, text=True,
                          env={**os.environ, "TZ": "UTC"}, check=True)
    assert done.stdout.splitlines()[1] == "UTC 0"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Europe/London"])  # London: UTC in winter, not in summer
def test_a_zone_the_system_has_no_data_for_is_refused(zone: str) -> None:
    # Python finds the zone (tzdata), the C library does not and takes UTC: "today" would be the wrong day
    done = subprocess.run([sys.executable, "-c", PROCESS_DAY, zone], capture_output=True, text=True,
                          env={**os.environ, "TZ": "UTC", "TZDIR": "/nonexistent"})
    assert done.returncode != 0
    assert f"the system has no time zone data for '{zone}': install its tzdata package" in done.stderr


def test_an_unknown_zone_stops_the_server_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--time-zone", "Mars/Olympus"]) == 2
    err = capsys.readouterr().err
    assert "unknown time zone 'Mars/Olympus'; give an IANA name such as Europe/Helsinki" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("zone", FAR_ZONES)
def test_the_server_dates_a_new_contract_by_its_zones_day(tmp_path: Path, zone: str) -> None:
    (tmp_path / "customers").mkdir()
    server = Server(tmp_path / "customers", tmp_path / "out", "--time-zone", zone,
                    "--archive", str(tmp_path / "archive"))
    try:
        days = zone_days(zone)
        with urllib.request.urlopen(server.url + "/customers/new", timeout=30) as response:
            page = response.read().decode("utf-8")
        days |= zone_days(zone)  # a midnight passed during the request
    finally:
        server.stop()
    field = re.search(r'<input[^>]*name="date"[^>]*>', page)
    assert field is not None, page
    value = re.search(r'value="([^"]*)"', field.group(0))
    assert value is not None and html.unescape(value.group(1)) in days
