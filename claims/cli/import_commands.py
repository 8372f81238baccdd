"""`claims import ...`: members, enrollments, claims."""

from __future__ import annotations

import sys

import click

from claims.cli.common import _fail, _work
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.command("import")
@click.argument("kind", type=click.Choice(["members", "enrollments", "claims", "settlements"]))
@click.argument("file", type=click.Path())
@click.option("--policy", "policy_file", type=click.Path(),
              help="参保名单：用此策略文件核对保障项目和份数；默认用各互助期已批准的策略版本。")
@click.option("--errors-out", type=click.Path(), help="有错误时，把原始各行加一列中文错误说明写入此 XLSX 文件。")
@click.option("--mapping", "mapping_file", type=click.Path(),
              help="导入医保结算清单时的字段映射（YAML）；默认为国家医保信息平台字段名。")
@click.option("--unmatched-out", type=click.Path(),
              help="导入医保结算清单时，把跳过的行（非会员、医疗类别不在补助范围）写入此 CSV。")
@click.pass_context
def import_command(ctx: click.Context, kind: str, file: str, policy_file: str | None, errors_out: str | None,
                   mapping_file: str | None, unmatched_out: str | None) -> None:
    """导入会员名单、参保名单、补助申请或医保结算清单：整个文件全部导入或全部不导入；同一文件导入两次不改变任何内容。

    settlements：医保结算清单（免申即享），按身份证号（certno）匹配会员，申请编号为 setl_id；
    非会员和医疗类别不在补助范围的行跳过并计数；医保冲销的结算在支付前撤回、支付后转为追回。

    \b
    角色：经办员（clerk）；基层工会代办员（agent）只能导入本单位的行（其他单位的行逐行拒绝，整个文件不导入）
    文件：CSV（UTF-8 或 GBK）或 XLSX；参保名单可用 --policy 指定策略文件（默认用已批准的版本）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    if kind == "settlements":
        _import_settlements(ctx, file, mapping_file, unmatched_out, errors_out)
        return
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
               + (f"，更新银行账号/开户行/手机号 {result.contact_updated}" if result.contact_updated else "")
               + (f"（导入记录 {result.import_id}）" if result.import_id else "（内容均已在库中，未写入任何内容）"))


def _import_settlements(ctx: click.Context, file: str, mapping_file: str | None, unmatched_out: str | None,
                        errors_out: str | None) -> None:
    from claims.workflow.settlements import (
        details,
        import_settlements,
        summary,
        write_errors,
        write_unmatched,
    )

    with _work(ctx) as session:
        done = import_settlements(session, file, ctx.obj["user"], mapping_file)
        if done.problems:
            session.rollback()
    if done.problems:
        for problem in done.problems:
            click.echo(str(problem), err=True)
        if errors_out and write_errors(done, errors_out):
            click.echo(f"错误说明已写入 {errors_out}", err=True)
        click.echo(f"{file}：共 {len(done.problems)} 个问题，未导入任何一行。", err=True)
        sys.exit(2)
    for line in details(done):
        click.echo(line, err=True)
    click.echo(summary(done))
    if unmatched_out and done.translated is not None:
        count = write_unmatched(done.translated, unmatched_out)
        click.echo(f"跳过的 {count} 行已写入 {unmatched_out}")
