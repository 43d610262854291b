"""``benchmarks/verification.py`` runs end to end (a few pairs, SQLite) and reports its row."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from benchmarks import verification as verification_benchmark
from django_sms.models import Verification

ROOT = Path(__file__).resolve().parent.parent


def test_the_verification_benchmark_measures_both_sides(tmp_path):
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nOther sections stay.\n")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    for _ in range(2):  # the second run replaces the section instead of adding one
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "verification.py"), "--pairs", "4",
             "--rounds", "2", "--database-url", "sqlite:///:memory:", "--output", str(output)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert done.returncode == 0, done.stderr
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nOther sections stay.\n")
    assert text.count("## Phone verification") == 1
    row = re.search(r"^\| Phone verification: .*\| (\d+) pairs/s \((\d+) queries\) \| (\d+) "
                    r"pairs/s \((\d+) queries\): a view storing a random code in clear.* \| "
                    r"([\d.]+)x \|", text, re.M)
    assert row, text
    assert int(row[2]) > int(row[4]) > 0  # the app does more than the peer, both did work


@pytest.mark.django_db(transaction=True)
def test_rows_run_in_a_process_already_set_up():
    """How a benchmark runner calls it: Django set up on a migrated database (here, the test
    suite's); the peer's table is created for the run and dropped afterwards."""
    (row,) = verification_benchmark.rows(pairs=4, rounds=2)
    what, ours, baseline, ratio, _target = row
    assert what.startswith("Phone verification: start + check pairs per second")
    assert re.fullmatch(r"\d+ pairs/s \(\d+ queries\)", ours)
    assert baseline.startswith(tuple("123456789")) and float(ratio.rstrip("x")) > 0
    assert "verification_peer_peercode" not in connection.introspection.table_names()
    assert Verification.objects.count() == 20 + 1 + 4  # warm-up, the counted pair, timed
