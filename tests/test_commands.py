"""What every management command of the app promises: help for each option, an entry with
every option in docs/commands.rst, and output that ``--verbosity`` controls."""

from __future__ import annotations

import argparse
import logging
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand
from django.utils import timezone

from django_sms import send_sms
from django_sms.models import get_message_model
from django_sms.sweeper import sweep
from tests.backends import FlakyBackend

DOCS = Path(__file__).resolve().parent.parent / "docs" / "commands.rst"

#: Options whose documentation another branch writes. Drop the entry once that is merged.
DOCUMENTED_ELSEWHERE = {("smssandbox", "--deliver-after")}

#: Django's own options (--verbosity, --settings, ...), documented once at the top.
DJANGO_OPTIONS = {
    string
    for action in BaseCommand().create_parser("manage.py", "x")._actions
    for string in action.option_strings
}

SHIPPED = sorted(name for name, app in get_commands().items() if app == "django_sms")


def arguments(parser: argparse.ArgumentParser, path: str = "") -> list[tuple[str, Any]]:
    """(subcommand path, action) for every argument of ``parser`` and of its subcommands,
    Django's own options left out."""
    found = []
    for action in parser._actions:
        if set(action.option_strings) & DJANGO_OPTIONS:
            continue
        if isinstance(action.choices, dict):  # subcommands
            found.append((path, action))
            for name, subparser in action.choices.items():
                found.extend(arguments(subparser, f"{path} {name}".strip()))
            continue
        found.append((path, action))
    return found


def command_arguments(name: str) -> list[tuple[str, Any]]:
    command = load_command_class("django_sms", name)
    return arguments(command.create_parser("manage.py", name))


def docs_entry(name: str) -> str:
    """The entry of ``name`` in docs/commands.rst: from its ````name ...```` line to the next
    command's."""
    text = DOCS.read_text()
    starts = {
        m.group(1): m.start() for m in re.finditer(r"^``([a-z]+)[ `]", text, flags=re.MULTILINE)
    }
    assert name in starts, f"docs/commands.rst has no entry for {name}"
    start = starts[name]
    later = [position for position in starts.values() if position > start]
    return text[start : min(later, default=len(text))]


def test_the_app_ships_the_expected_commands():
    # A guard for the parametrized tests below: they must see the commands.
    assert {"sendtestsms", "smssync", "smsovhinfo", "smswallet", "smstoken"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_option_has_help_that_shows_its_default(name):
    for path, action in command_arguments(name):
        if action.help == argparse.SUPPRESS:
            continue  # hidden on purpose (an internal switch)
        label = f"{name} {path} {'/'.join(action.option_strings) or action.dest}"
        assert action.help and action.help.strip(), f"{label} has no help text"
        default = action.default
        if default not in (None, False, "", [], 0, 0.0) and not isinstance(default, bool):
            shown = action.help % {**vars(action), "prog": "manage.py"}
            written = f"{default:g}" if isinstance(default, float) else str(default)
            assert written in shown, (
                f"{label}: the help does not show the default {default!r}: {shown!r}"
            )


def test_sendtestsms_help_shows_the_default_text(capsys):
    command = load_command_class("django_sms", "sendtestsms")
    command.create_parser("manage.py", "sendtestsms").print_help()
    text = " ".join(capsys.readouterr().out.split())
    assert "--text TEXT Text to send (default:" in text
    assert "Test message from" in text


@pytest.mark.parametrize("name", SHIPPED)
def test_docs_list_every_command_with_every_option(name):
    entry = docs_entry(name)
    for path, action in command_arguments(name):
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action.choices, dict):
            for subcommand in action.choices:
                assert re.search(rf"``{subcommand}\b", entry) or f"|{subcommand}" in entry, (
                    f"docs/commands.rst: {name} {subcommand} is not documented"
                )
            continue
        for option in action.option_strings:
            if (name, option) in DOCUMENTED_ELSEWHERE:
                continue
            if path:  # a subcommand's option: in that subcommand's line
                assert re.search(rf"``{path}\b[^\n]*{re.escape(option)}\b", entry), (
                    f"docs/commands.rst: {name} {path} {option} is not documented"
                )
            else:
                assert re.search(rf"{re.escape(option)}\b", entry), (
                    f"docs/commands.rst: {name} {option} is not documented"
                )


# -- smssync's output ---------------------------------------------------------------------------


@pytest.fixture
def due_retry(settings):
    """A message whose retry is due, so that a sweep has something to do and report."""
    FlakyBackend.reset()
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "flaky": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 1}},
    }
    message = send_sms("hello", to="+33612345678", using="flaky")
    get_message_model().objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    yield message
    FlakyBackend.reset()


@pytest.mark.django_db
def test_smssync_verbosity_0_prints_nothing(due_retry, caplog):
    caplog.set_level(logging.DEBUG, logger="django_sms")
    out, err = StringIO(), StringIO()
    call_command("smssync", verbosity=0, stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == ("", "")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    due_retry.refresh_from_db()
    assert due_retry.status == "delivered"  # the sweep did run


@pytest.mark.django_db
@pytest.mark.parametrize("verbosity", [1, 2, 3])
def test_smssync_prints_sentences_never_raw_dicts(due_retry, caplog, verbosity):
    caplog.set_level(logging.DEBUG, logger="django_sms")
    out = StringIO()
    call_command("smssync", verbosity=verbosity, stdout=out)
    printed = out.getvalue()
    assert "Due retries: 1 delivered." in printed
    assert "Done: 1 delivered, 0 enqueued, 0 marked unknown" in printed
    logged = [r.getMessage() for r in caplog.records]
    for text in [printed, *logged]:
        assert "{'" not in text and "': " not in text, text


@pytest.mark.django_db
def test_the_sweeper_task_logs_a_sentence(due_retry, caplog):
    caplog.set_level(logging.DEBUG, logger="django_sms")
    sweep()
    summaries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("smssync:")]
    assert summaries == [
        "smssync: Done: 1 delivered, 0 enqueued, 0 marked unknown, 0 polled "
        "(0 changed, 0 errors), 0 webhook events matched, 0 charges reconciled, "
        "0 unknown message(s) captured."
    ]
