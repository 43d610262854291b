"""The README's quickstart and docs/quickstart.rst, pasted into a brand-new project.

Each test runs ``django-admin startproject`` in a temporary directory, then goes through the
page in order: a Python snippet is appended to the file its first line names (``# settings.py``,
``# urls.py``, ``# views.py``; ``# anywhere`` runs in ``manage.py shell``), a ``python
manage.py ...`` line of a console snippet is run as written. The snippets are read from the
documents themselves, so the test checks what a reader copies.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mysite"
MARKER = re.compile(r"^# (settings\.py|urls\.py|views\.py|anywhere)\b", re.MULTILINE)


@dataclass
class Snippet:
    language: str  # "python" or "console"
    code: str


def markdown_snippets(path: Path) -> list[Snippet]:
    return [
        Snippet(language, code)
        for language, code in re.findall(r"^```(\w+)\n(.*?)^```", path.read_text(), re.S | re.M)
    ]


def rst_snippets(path: Path) -> list[Snippet]:
    """The ``.. code-block::`` directives of a reStructuredText page, dedented."""
    snippets = []
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        directive = re.match(r"^(\s*)\.\. code-block:: (\w+)", line)
        if not directive:
            continue
        body: list[str] = []
        indent = None
        for following in lines[index + 1 :]:
            if following.strip() and indent is None:
                indent = len(following) - len(following.lstrip())
                if indent <= len(directive.group(1)):
                    break
            if following.strip() and len(following) - len(following.lstrip()) < (indent or 0):
                break
            body.append(following[indent or 0 :])
        snippets.append(Snippet(directive.group(2), "\n".join(body).strip() + "\n"))
    return snippets


def python_parts(code: str) -> list[tuple[str, str]]:
    """(target, code) for each part of a Python snippet, split on its ``# file`` lines."""
    starts = list(MARKER.finditer(code))
    assert starts and starts[0].start() == 0, (
        f"A Python snippet of the quickstart must start with the file it goes in:\n{code}"
    )
    ends = [m.start() for m in starts[1:]] + [len(code)]
    return [(m.group(1), code[m.start() : end]) for m, end in zip(starts, ends, strict=True)]


class NewProject:
    """A project made by ``django-admin startproject``, driven as its developer would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.package = directory / PROJECT
        self.env = {
            **os.environ,
            # This checkout's django_sms, whatever the virtualenv has installed.
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": f"{PROJECT}.settings",
            # The provider snippets read their credentials from the environment.
            "VONAGE_APPLICATION_ID": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
            "VONAGE_PRIVATE_KEY_PATH": str(directory / "vonage_private.key"),
            "VONAGE_SIGNATURE_SECRET": "signature-secret",
            "OVH_APPLICATION_KEY": "application-key",
            "OVH_APPLICATION_SECRET": "application-secret",
            "OVH_CONSUMER_KEY": "consumer-key",
            "OVH_WEBHOOK_SECRET": "a-long-random-webhook-secret",
        }
        self.env.pop("DATABASE_URL", None)
        self.run(sys.executable, "-m", "django", "startproject", PROJECT, str(directory))
        self.outputs: list[str] = []

    def run(self, *args: str) -> str:
        result = subprocess.run(
            args, cwd=self.directory, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, (
            f"{shlex.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
        return result.stdout + result.stderr

    def manage(self, *args: str) -> str:
        return self.run(sys.executable, "manage.py", *args)

    def paste(self, target: str, code: str) -> str:
        if target == "anywhere":
            return self.manage("shell", "--no-imports", "-c", code)
        path = self.package / target
        existing = path.read_text() if path.exists() else ""
        path.write_text(existing + "\n\n" + code)
        if target == "views.py":
            return self.call_views(code)
        return ""

    def call_views(self, code: str) -> str:
        """Call each view of a views snippet with a POST carrying a phone number."""
        out = []
        for view in re.findall(r"^def (\w+)\(request", code, re.M):
            out.append(
                self.manage(
                    "shell",
                    "--no-imports",
                    "-c",
                    "from django.test import RequestFactory\n"
                    f"from {PROJECT}.views import {view}\n"
                    "request = RequestFactory().post('/', {'phone': '06 12 34 56 78'})\n"
                    f"response = {view}(request)\n"
                    "assert response.status_code == 200, response\n"
                    "print(response.content.decode())\n",
                )
            )
        return "".join(out)

    def console(self, code: str) -> str:
        out = []
        for line in code.splitlines():
            command = line.removeprefix("$ ").strip()
            if not line.startswith("$ "):
                continue
            if command.startswith("pip install"):
                assert command == "pip install django-transactional-sms"
                continue  # installed already: the suite runs in a virtualenv that has it
            if command.startswith("./scripts/"):
                # The repository's demo, not a step in a new project (test_example_project
                # runs it): it must exist, that is all.
                assert (ROOT / command.split()[0]).is_file(), command
                continue
            args = shlex.split(command)
            assert args[:2] == ["python", "manage.py"], f"unexpected command: {command}"
            out.append(self.manage(*args[2:]))
        return "".join(out)

    def follow(self, snippets: list[Snippet]) -> None:
        for snippet in snippets:
            if snippet.language == "python":
                for target, code in python_parts(snippet.code):
                    self.outputs.append(self.paste(target, code))
            elif snippet.language == "console":
                self.outputs.append(self.console(snippet.code))
            else:
                pytest.fail(f"unexpected snippet language {snippet.language!r}")


@pytest.fixture
def project(tmp_path: Path) -> NewProject:
    project = NewProject(tmp_path)
    # A key for the Vonage snippet, where a developer keeps theirs.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "vonage_private.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return project


def test_the_readme_quickstart_runs_as_pasted(project: NewProject) -> None:
    snippets = [s for s in markdown_snippets(ROOT / "README.md") if s.language == "python"]
    assert len(snippets) == 1
    parts = python_parts(snippets[0].code)
    assert [target for target, _code in parts] == ["settings.py", "urls.py", "anywhere"]
    assert "PHONENUMBER_DEFAULT_REGION" in parts[0][1]

    for target, code in parts:
        if target == "anywhere":
            # "Run python manage.py migrate before the first send", as the README says.
            project.manage("migrate")
        project.outputs.append(project.paste(target, code))

    sent = project.outputs[-1]
    assert "Your code is 123456" in sent  # printed by the console backend
    assert "+33612345678" in sent
    assert re.search(r"^delivered 1 console-\S+$", sent, re.M), sent
    # The URLs are wired: the webhooks are mounted under /sms/.
    reverse = (
        "from django.urls import reverse\n"
        "print(reverse('django_sms:webhook-status', args=['default']))"
    )
    assert project.manage("shell", "--no-imports", "-c", reverse).strip() == (
        "/sms/webhooks/default/status/"
    )


def test_the_quickstart_page_runs_as_pasted(project: NewProject) -> None:
    snippets = rst_snippets(ROOT / "docs" / "quickstart.rst")
    python = [s for s in snippets if s.language == "python"]
    assert python and all(MARKER.match(s.code) for s in python)

    project.follow(snippets)

    printed = "".join(project.outputs)
    # The view and sendtestsms sent through the console backend, which prints each SMS.
    assert "Your code is 123456" in printed
    assert re.search(r"Message \d+: delivered", printed), printed
    assert "Hello" in printed
    assert "Sent." in printed  # sendtestsms's verdict
    # The national number was read in PHONENUMBER_DEFAULT_REGION.
    assert "+33612345678" in printed
    # The last check ran with the provider aliases configured and the URLs included.
    assert "System check identified no issues" in printed
