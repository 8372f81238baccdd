"""Click's own messages reach users in Chinese, with a code and exit 2 (issue 11): a missing option or
argument, an unknown option or command, a bad choice, a bad number, an option without its value — and
the help's usage line, metavars and defaults. Nothing of Click's English is left: once the command path,
option names and the typed value are taken out, no ASCII word remains."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from claims.cli import main

CLICK_WORDS = ("Usage", "Options", "Commands", "Arguments", "Error", "Missing", "Invalid", "Try", "Show", "message",
               "exit", "TEXT", "INTEGER", "PATH", "FILENAME", "required", "default", "such", "choose", "valid")


def _command_names(group) -> set[str]:
    names = set()
    for name, command in getattr(group, "commands", {}).items():
        names |= {name, *_command_names(command)}
    return names


def _leftover_english(text: str, *typed: str) -> list[str]:
    """ASCII words left once the typed values, option names, the command path and the commands' own names
    (which a user types, listed when a command is unknown) are taken out."""
    for value in sorted([*typed, *_command_names(main)], key=len, reverse=True):
        text = text.replace(value, "")
    text = re.sub(r"(?<![\w])-{1,2}[A-Za-z][\w-]*", "", text)  # option names
    text = re.sub(r"\bclaims(?: [a-z-]+)*", "", text)  # the command path
    return re.findall(r"[A-Za-z]{2,}", text)


@pytest.mark.parametrize("args,code,typed", [
    (["batch", "create", "--policy", "x.yaml"], "CLI_MISSING_OPTION", ()),
    (["review", "export"], "CLI_MISSING_ARGUMENT", ()),
    (["import", "claims", "f.csv", "--bogus"], "CLI_NO_SUCH_OPTION", ()),
    (["imprt"], "CLI_NO_SUCH_COMMAND", ("imprt", "import")),
    (["audit", "nothing"], "CLI_NO_SUCH_COMMAND", ("nothing",)),
    (["import", "bills", "f.csv"], "CLI_BAD_CHOICE", ("bills", "members", "enrollments", "settlements")),
    (["batch", "create", "--period", "abc"], "CLI_BAD_NUMBER", ("abc",)),
    (["batch", "create", "--period", "2025", "--workers", "0"], "CLI_BAD_NUMBER", ()),
    (["batch", "create", "--period"], "CLI_OPTION_NEEDS_VALUE", ()),
    (["review", "export", "1", "2", "-o", "r.xlsx"], "CLI_EXTRA_ARGUMENT", ()),
])
def test_usage_errors_are_chinese_with_a_code_and_exit_2(args, code, typed):
    result = CliRunner().invoke(main, args, prog_name="claims")
    said = result.output
    assert result.exit_code == 2, said
    assert f"[{code}]" in said and "输入无效：" in said
    assert "Traceback" not in said and _leftover_english(said.replace(f"[{code}]", ""), *typed) == []


@pytest.mark.parametrize("path", [[], ["batch", "create"], ["import"], ["export", "letters"], ["review"]])
def test_help_has_none_of_clicks_english(path):
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="claims")
    assert result.exit_code == 0
    said = result.output
    assert "用法：" in said and "显示本帮助并退出。" in said
    words = set(re.findall(r"[A-Za-z]+", said))
    assert words.isdisjoint(CLICK_WORDS), words & set(CLICK_WORDS)


def test_the_english_check_can_fail():
    assert _leftover_english("Error: Missing option '--policy'. Try 'claims batch create --help'.") == [
        "Error", "Missing", "option", "Try"]
