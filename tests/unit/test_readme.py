"""The README's commands work as written: CI runs its test command, and the commands it names
exist."""

from __future__ import annotations

import re
import shlex

import click
import pytest

from api.cli import main
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")


def _fenced() -> list[tuple[str, str]]:
    return [(lang.strip(), body.strip()) for lang, body in FENCE.findall(README)]


def _sh_blocks() -> list[str]:
    return [body for lang, body in _fenced() if lang == "sh"]


def _run_and_test() -> tuple[str, str]:
    run, test = _sh_blocks()
    return run, test


def test_two_sh_blocks_run_then_test() -> None:
    blocks = _sh_blocks()
    assert len(blocks) == 2, blocks
    run, test = blocks
    assert "\n" not in run, "each block is one command to paste"
    assert "\n" not in test, "each block is one command to paste"
    assert README.index("## Run it") < README.index(run) < README.index("## Test it")
    assert README.index("## Test it") < README.index(test)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _run, test = _run_and_test()
    assert test in CI, f".ci/run does not run the README's test command {test!r}"
    assert CI.startswith("#!"), "CI runs .ci/run as a script"


def test_run_command_ends_with_campaign_up() -> None:
    run, _test = _run_and_test()
    assert re.search(r"(^|[\s/])campaign up$", run), run
    assert run.endswith("campaign up")


def _code() -> list[str]:
    """Everything the README shows as code: fenced blocks and inline spans."""
    return [body for _lang, body in _fenced()] + INLINE.findall(FENCE.sub("", README))


def _check(words: list[str]) -> None:
    """``words`` is a command line after ``campaign``: commands, then options."""
    command: click.Command = main
    path = ["campaign"]
    for i, word in enumerate(words):
        if word.startswith("-"):
            options = {opt for param in command.params for opt in param.opts}
            options |= {"--help"}
            assert word.split("=")[0] in options, f"`{' '.join(path)}` has no option {word}"
            continue
        if not isinstance(command, click.Group):
            # An argument or an option's value.
            takes = f"`{' '.join(path)}` takes no {word}"
            if any(isinstance(param, click.Argument) for param in command.params):
                continue
            assert i > 0, takes
            assert words[i - 1].startswith("-"), takes
            continue
        alternatives = word.split("|")
        for name in alternatives:
            assert name in command.commands, f"`{' '.join(path)} {name}` is not a command"
        command = command.commands[alternatives[0]]
        path.append(alternatives[0])


def _mentions() -> list[list[str]]:
    found: list[list[str]] = []
    for code in _code():
        for line in code.splitlines():
            for part in re.split(r"&&|\|\||;", line):
                words = shlex.split(part)
                for i, word in enumerate(words):
                    if word == "campaign" or word.endswith("/campaign"):
                        found.append(words[i + 1 :])
    return found


def _listed() -> list[list[str]]:
    """The commands listed after "`campaign --help` lists the commands:"."""
    start = README.index("lists the commands:")
    end = README.index("\n- ", start)
    return [span.split() for span in INLINE.findall(README[start:end])]


def test_every_campaign_command_in_the_readme_exists() -> None:
    mentions = _mentions()
    assert ["up"] in mentions
    assert ["--help"] in mentions
    for words in mentions:
        _check(words)


def test_the_listed_commands_exist() -> None:
    listed = _listed()
    assert len(listed) >= 7, listed
    for words in listed:
        _check(words)


@pytest.mark.parametrize(
    "words", [["launch"], ["db", "upgrade|sideways"], ["token", "issue", "--colour", "red"]]
)
def test_check_finds_commands_that_do_not_exist(words: list[str]) -> None:
    # The checker itself: a made-up command or option is caught.
    with pytest.raises(AssertionError, match=r"is not a command|has no option"):
        _check(words)
