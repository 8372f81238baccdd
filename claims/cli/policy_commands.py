"""`claims policy ...`: check, show and test policy files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from claims.cli.common import Refused, _fail
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.group()
def policy() -> None:
    """策略：检查、展示、测试策略文件；发布、批准、驳回、列出、比较策略版本。

    Check, show and test policy files (策略文件); publish, approve, reject, list and diff the versions
    stored in the database."""


@policy.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def policy_check(files: tuple[str, ...]) -> None:
    """Validate POLICY files; print every problem as file:line and exit 2 if any."""
    from claims.policy import read_policy

    problems = []
    for file in files:
        try:
            loaded = read_policy(file)
        except ProblemsFound as found:
            problems.extend(found.problems)
            continue
        p = loaded.policy
        click.echo(f"{file}: 通过 — {p.scheme.name}，{len(p.items)} 个保障项目，"
                   f"{sum(len(i.benefits) for i in p.items)} 项保障责任")
    if problems:
        _fail(ProblemsFound(problems))


@policy.command("show")
@click.argument("file", type=click.Path())
def policy_show(file: str) -> None:
    """Print the scheme as a readable Chinese summary: items, contributions, caps, bands, lump sums."""
    from claims.policy import read_policy
    from claims.policy.summary import summary

    try:
        loaded = read_policy(file)
    except ProblemsFound as found:
        _fail(found)
    click.echo(summary(loaded.policy), nl=False)


@policy.command("test")
@click.argument("file", type=click.Path())
@click.argument("cases", nargs=-1, type=click.Path())
def policy_test(file: str, cases: tuple[str, ...]) -> None:
    """Run the policy's own test cases (default: policies/tests/<scheme code>*.yaml)."""
    from claims.policy import read_policy
    from claims.policy.cases import default_case_files, run_case_file

    try:
        loaded = read_policy(file)
    except ProblemsFound as found:
        _fail(found)
    files = [Path(c) for c in cases] or default_case_files(Path(file), loaded.policy)
    if not files:
        raise Refused(f"没有找到 {loaded.policy.scheme.code} 的测试用例文件")
    passed = failed = 0
    for case_file in files:
        try:
            results = run_case_file(loaded.policy, case_file)
        except ProblemsFound as found:
            _fail(found)
        for result in results:
            if result.ok:
                passed += 1
                click.echo(f"  通过  {case_file.name} › {result.name}")
            else:
                failed += 1
                click.echo(f"  失败  {case_file.name} › {result.name}")
                for difference in result.differences:
                    click.echo(f"        {difference}")
    click.echo(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
