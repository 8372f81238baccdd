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
@click.pass_context
def export_payouts_command(ctx: click.Context, batch_id: int, out: str, by_unit: bool) -> None:
    """发放表：汇总与控制数、每件已通过申请一行、缺银行账号的申请。

    \b
    角色：财务（finance）
    文件：写出 XLSX（-o）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from exports.commands import export_payouts

    with _work(ctx) as session:
        export_payouts(session, batch_id, Path(out), ctx.obj["user"], by_unit, click.echo)


@export_group.command("bank")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="银行批量转账 CSV 文件。")
@click.pass_context
def export_bank_command(ctx: click.Context, batch_id: int, out: str) -> None:
    """银行批量转账文件（账号、户名、金额、附言），输出笔数和控制总额。

    \b
    角色：财务（finance）
    文件：写出 CSV（-o）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from exports.commands import export_bank

    with _work(ctx) as session:
        export_bank(session, batch_id, Path(out), ctx.obj["user"], click.echo)


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
