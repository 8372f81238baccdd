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
    """检查、查看和测试策略文件。"""


@policy.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def policy_check(files: tuple[str, ...]) -> None:
    """检查策略文件；每个问题按 文件:行 列出，有问题时退出码为 2。

    \b
    角色：任何人（无需 --user）
    文件：策略文件 YAML，可多个
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
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
    """把策略文件显示为中文摘要：保障项目、缴费、限额、分档、定额。

    \b
    角色：任何人（无需 --user）
    文件：策略文件 YAML
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
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
    """运行策略文件自带的测试用例（默认 policies/tests/<方案代码>*.yaml）。

    \b
    角色：任何人（无需 --user）
    文件：策略文件 YAML 和测试用例 YAML
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
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
