"""The ``claims`` command: parse options, call one function, print what it did. Nothing else."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from claims.problems import ProblemsFound


class Refused(click.ClickException):
    exit_code = 2


def _fail(problems: ProblemsFound) -> None:
    for problem in problems.problems:
        click.echo(str(problem), err=True)
    click.echo(f"共 {len(problems.problems)} 个问题，未做任何处理。", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="CLAIMS_DB", default="sqlite:///claims.db", show_default=True,
              help="数据库地址（SQLAlchemy URL），也可用环境变量 CLAIMS_DB。")
@click.option("--user", envvar="CLAIMS_USER", default=None, help="操作人用户名，也可用环境变量 CLAIMS_USER。")
@click.pass_context
def main(ctx: click.Context, db: str, user: str | None) -> None:
    """职工医疗互助保障 claim engine（职工医疗互助保障补助计算）.

    Policies are YAML files (see policies/README.md); every amount is exact to the fen and every
    result line carries its explanation.
    """
    ctx.obj = {"db": db, "user": user}


@main.group()
def policy() -> None:
    """Check, show and test policy files (策略文件)."""


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


@main.command()
@click.option("--policy", "policy_file", required=True, type=click.Path(), help="策略文件（YAML）。")
@click.option("--members", required=True, type=click.Path(), help="会员名单（CSV 或 XLSX）。")
@click.option("--enrollments", required=True, type=click.Path(), help="参保名单（CSV 或 XLSX）。")
@click.option("--claims", "claims_file", required=True, type=click.Path(), help="补助申请（CSV 或 XLSX）。")
@click.option("--out", default="-", show_default=True, help="输出文件；- 为标准输出。")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default=None,
              help="输出格式；默认按 --out 的扩展名，标准输出为 csv。")
def calculate(policy_file: str, members: str, enrollments: str, claims_file: str, out: str, fmt: str | None) -> None:
    """Calculate every claim statelessly and write one row per result line (SPEC §5)."""
    from claims.engine import ValueNotInForce
    from claims.engine import calculate as run
    from claims.intake import read_inputs
    from claims.policy import read_policy
    from exports.lines import write_csv, write_json, write_xlsx

    fmt = fmt or (Path(out).suffix.lstrip(".").lower() if out != "-" else "csv")
    if fmt not in ("csv", "json", "xlsx"):
        raise Refused(f"无法从 {out} 判断输出格式，请用 --format 指定 csv、json 或 xlsx")
    if fmt == "xlsx" and out == "-":
        raise Refused("XLSX 不能写到标准输出，请用 --out 指定文件")
    try:
        loaded = read_policy(policy_file)
        inputs = read_inputs(loaded.policy, members, enrollments, claims_file, today=date.today())
    except ProblemsFound as found:
        _fail(found)
    try:
        result = run(loaded.policy, inputs.members, inputs.enrollments, inputs.claims)
    except ValueNotInForce as error:
        click.echo(f"{policy_file}: [POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    if fmt == "xlsx":
        write_xlsx(result.lines, out)
    elif out == "-":
        (write_csv if fmt == "csv" else write_json)(result.lines, sys.stdout)
    else:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            (write_csv if fmt == "csv" else write_json)(result.lines, handle)
    total = sum((line.amount for line in result.lines), start=0)
    paid_claims = len({line.claim_id for line in result.lines if line.amount > 0})
    click.echo(f"已计算 {len(inputs.claims)} 件申请，{len(result.lines)} 行结果，{paid_claims} 件有补助，"
               f"补助合计 {total:,.2f} 元" + ("" if out == "-" else f"；已写入 {out}"), err=True)


@main.command()
@click.option("-o", "--out", "out", default="demo-output", show_default=True, type=click.Path(),
              help="演示输出文件夹。")
def demo(out: str) -> None:
    """Run the whole flow on examples/ into one folder and print where each file is."""
    from claims.demo import run_demo

    try:
        run_demo(Path(out), say=click.echo)
    except ProblemsFound as found:
        _fail(found)
