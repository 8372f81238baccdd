"""Every command's help is Chinese and says who may run it, what files it takes and its exit codes;
`db init` says what it did; a broken review sheet is a located message with a code, never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import click
from click.testing import CliRunner

from claims.cli import main
from tests.conftest import cli_login, setup_users


def leaves(group: click.Group, path=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaves(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_says_in_chinese_what_it_does_who_may_run_it_files_and_exit_codes():
    runner = CliRunner()
    commands = list(leaves(main))
    assert len(commands) >= 20
    for path, _ in commands:
        shown = runner.invoke(main, [*path, "--help"]).output
        description = shown.split("\n\n")[1]
        assert re.search(r"[\u4e00-\u9fff]", description), path
        assert not re.search(r"\b(the|and|or|of|a|to)\b", description), (path, description)
        for needed in ("角色：", "文件：", "退出码："):
            assert needed in shown, (path, needed)
        assert "显示本帮助并退出" in shown and "用法：" in shown
    for path in ((), *{p[:1] for p, _ in commands}):  # groups too: a Chinese description
        shown = runner.invoke(main, [*path, "--help"]).output
        assert re.search(r"[\u4e00-\u9fff]", shown.split("\n\n")[1]), path


def run(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_") or k == "CLAIMS_TOKEN_FILE"}
    return subprocess.run([sys.executable, "-m", "claims.cli", "--db", f"sqlite:///{tmp_path / 'c.db'}", *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path)


def test_db_init_says_it_created_the_database_then_that_nothing_changed(tmp_path):
    first = run(tmp_path, "db", "init")
    assert first.returncode == 0 and "已新建数据库" in first.stdout
    second = run(tmp_path, "db", "init")
    assert second.returncode == 0 and "已是最新结构" in second.stdout and "新建" not in second.stdout


def test_a_broken_review_sheet_is_refused_with_a_code_and_no_traceback(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    setup_users(f"sqlite:///{tmp_path / 'c.db'}", {"甲": "clerk", "乙": "reviewer"})
    cli_login(f"sqlite:///{tmp_path / 'c.db'}", "乙")
    broken = tmp_path / "审核表.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    done = run(tmp_path, "--user", "乙", "review", "import", str(broken))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "[REVIEW_UNREADABLE]" in done.stderr and "审核表.xlsx" in done.stderr


def test_a_missing_policy_names_the_path_it_tried(tmp_path):
    done = run(tmp_path, "policy", "check", "policies/hangzhou.yaml")
    assert done.returncode == 2 and "[POLICY_NOT_FOUND]" in done.stderr
    assert str(tmp_path / "policies" / "hangzhou.yaml") in done.stderr
