"""`claims bank reconcile`: the bank's result file against what was sent."""

from __future__ import annotations

from pathlib import Path

import click

from claims.cli.common import _work
from claims.cli.root import main


@main.group("bank")
def bank_group() -> None:
    """银行回盘对账（财务）。"""


@bank_group.command("reconcile")
@click.argument("batch_id", type=int)
@click.argument("result_file", type=click.Path())
@click.option("-o", "--out", type=click.Path(), help="对账结果 XLSX（含“待重新发放”表）；默认 对账结果-批次N.xlsx。")
@click.pass_context
def reconcile_command(ctx: click.Context, batch_id: int, result_file: str, out: str | None) -> None:
    """对账：读入银行回盘文件（账号、户名、金额、成功/失败、原因）。

    成功的转账把其申请标记为已支付；失败的保持未支付并记下银行的原因，列入“待重新发放”表，
    会员账号更正（claims import members）后进入下一个银行文件。回盘与发出的不符（未知账号、金额不同、
    重复行、缺行）时整份拒绝，逐项列出 文件:行:列。打印 发出 = 成功 + 失败（到分）。
    财务（finance）可运行。接受 CSV 或 XLSX。退出码：0 完成，1 拒绝，2 回盘文件与发出的不符。"""
    from claims.workflow.bank import reconcile
    from exports.reconcile import write_reconciliation

    out_path = Path(out or f"对账结果-批次{batch_id}.xlsx")
    with _work(ctx) as session:
        done = reconcile(session, batch_id, result_file, ctx.obj["user"])
        write_reconciliation(session, done, out_path)
        sent, ok, failed = done.total(done.sent), done.total(done.succeeded), done.total(done.failed)
        click.echo(f"批次 {batch_id} 对账：发出 {len(done.sent)} 笔 {sent:,.2f} 元 = 成功 {len(done.succeeded)} 笔 "
                   f"{ok:,.2f} 元 + 失败 {len(done.failed)} 笔 {failed:,.2f} 元")
        click.echo(f"{done.claims_paid} 件申请标记为已支付" + ("；本批次已全部支付" if done.batch_paid else ""))
        for transfer in done.failed:
            click.echo(f"  待重新发放：{transfer.name}（账号 {transfer.account}）{transfer.amount_fen / 100:,.2f} 元，"
                       f"原因：{transfer.reason}")
        click.echo(f"对账结果已写入 {out_path}")
