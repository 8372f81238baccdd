"""`claims import ...`: members, enrollments, claims."""

from __future__ import annotations

import sys

import click

from claims.cli.common import _fail, _work
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.command("import")
@click.argument("kind", type=click.Choice(["members", "enrollments", "claims"]))
@click.argument("file", type=click.Path())
@click.option("--policy", "policy_file", type=click.Path(),
              help="参保名单：用此策略文件核对保障项目和份数；默认用各互助期已批准的策略版本。")
@click.option("--errors-out", type=click.Path(), help="有错误时，把原始各行加一列中文错误说明写入此 XLSX 文件。")
@click.pass_context
def import_command(ctx: click.Context, kind: str, file: str, policy_file: str | None, errors_out: str | None) -> None:
    """Import members, enrollments or claims: the whole file or nothing; the same file twice changes nothing."""
    from claims.policy import read_policy
    from claims.workflow.imports import KIND_NAMES, import_file, write_errors_workbook

    policy = None
    if policy_file:
        try:
            policy = read_policy(policy_file)
        except ProblemsFound as found:
            _fail(found)
    with _work(ctx) as session:
        result = import_file(session, kind, file, ctx.obj["user"], policy)
        if result.problems:
            session.rollback()
    for notice in result.notices:
        click.echo(f"注意：{notice}", err=True)
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        if errors_out:
            write_errors_workbook(result, errors_out)
            click.echo(f"错误说明已写入 {errors_out}，请基层工会改正后重新提交", err=True)
        click.echo(f"{file}：共 {len(result.problems)} 个问题，未导入任何一行。", err=True)
        sys.exit(2)
    click.echo(f"{file}：{result.rows} 行{KIND_NAMES[kind]}，新增 {result.added}，未变 {result.unchanged}"
               + (f"，退回后重新提交 {result.resubmitted}" if result.resubmitted else "")
               + (f"（导入记录 {result.import_id}）" if result.import_id else "（内容均已在库中，未写入任何内容）"))
