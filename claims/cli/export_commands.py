"""`claims export ...`: payout workbook, bank file, notice letters."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from claims.cli.common import _work
from claims.cli.root import main


@main.group("export")
def export_group() -> None:
    """给财务和会员的文件：发放表、银行文件、补助通知书。"""


@export_group.command("payouts")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="发放表 XLSX 文件。")
@click.option("--by-unit", is_flag=True, help="另外为每个单位生成一张工作表。")
@click.option("--reexport", is_flag=True, help="重新导出：包括已导出过的申请；文件名和导出记录标明“重新导出”。")
@click.pass_context
def export_payouts_command(ctx: click.Context, batch_id: int, out: str, by_unit: bool, reexport: bool) -> None:
    """发放表：汇总与控制数、每件已通过申请一行、缺银行账号的申请。只含已通过、未支付、尚未导出过的申请（--reexport 除外）。

    \b
    角色：财务（finance）
    文件：写出 XLSX（-o）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from exports.commands import export_payouts

    with _work(ctx) as session:
        export_payouts(session, batch_id, Path(out), ctx.obj["user"], by_unit, click.echo, reexport)


@export_group.command("bank")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="银行文件（CSV 或 XLSX，按模板）。")
@click.option("--template", default="generic", show_default=True,
              help="银行模板：generic（通用 CSV）、icbc（工商银行批量代发 XLSX）、abc（农业银行 CSV），"
                   "或模板 YAML 文件的路径。")
@click.option("--encoding", type=click.Choice(["utf-8", "utf-8-sig", "gbk", "gb18030"]),
              help="CSV 的编码；部分网银要求 gbk。默认按模板（通用 CSV 为带 BOM 的 UTF-8）。")
@click.option("--reexport", is_flag=True, help="重新导出：再次列入已发出、银行尚未回盘的转账（绝不含已成功或已支付的）；"
                                               "文件名和导出记录标明“重新导出”。")
@click.pass_context
def export_bank_command(ctx: click.Context, batch_id: int, out: str, template: str, encoding: str | None,
                        reexport: bool) -> None:
    """银行批量转账文件（账号、户名、金额、附言、开户行），输出笔数和控制总额。

    列入：已通过、尚未发出的申请，以及上次转账失败且会员账号已更正的申请；每人一笔。没有可付款项时拒绝。

    \b
    角色：财务（finance）
    文件：写出 CSV 或 XLSX（按 --template）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from exports.commands import export_bank

    with _work(ctx) as session:
        export_bank(session, batch_id, Path(out), ctx.obj["user"], click.echo, template, encoding, reexport)


@export_group.command("letters")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="PDF 文件；分文件时为文件夹。")
@click.option("--split-by", type=click.Choice(["unit", "member"]), help="按单位或按会员分成多个 PDF。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="分文件时并行生成的进程数。")
@click.option("--unit", help="只生成这个单位（基层工会）的通知书，名称须与会员名单中的单位完全一致。")
@click.pass_context
def export_letters_command(ctx: click.Context, batch_id: int, out: str, split_by: str | None, workers: int,
                           unit: str | None) -> None:
    """中文 A4 补助通知书，每件已决定的申请一份，按单位排列。

    \b
    角色：财务（finance）
    文件：写出 PDF（-o）；分文件时为文件夹
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from exports.commands import export_letters
    from exports.fonts import FontError

    try:
        with _work(ctx) as session:
            export_letters(session, batch_id, Path(out), ctx.obj["user"], split_by, click.echo, workers, unit)
    except FontError as error:
        click.echo(str(error), err=True)
        sys.exit(2)


@export_group.command("recoveries")
@click.argument("batch_id", type=int, required=False)
@click.option("-o", "--out", required=True, type=click.Path(), help="追回清单 XLSX 文件。")
@click.pass_context
def export_recoveries_command(ctx: click.Context, batch_id: int | None, out: str) -> None:
    """追回清单：更正或重算后多付、尚未追回的金额（不给批次号则列出全部）。角色：财务。退出码 0 完成，1 拒绝。"""
    from claims.workflow.recoveries import export_recoveries

    with _work(ctx) as session:
        count, total = export_recoveries(session, batch_id, Path(out), ctx.obj["user"])
    click.echo(f"追回清单已写入 {out}：{count} 笔，合计 {total:,.2f} 元；追回后用 claims correction recovered 登记")
