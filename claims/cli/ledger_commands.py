"""`claims audit ledger` and `claims correction ...`: the period ledger's invariants, and the second pair of
eyes on every correction that changes money."""

from __future__ import annotations

import sys

import click

from claims.cli.audit_commands import audit
from claims.cli.common import _work
from claims.cli.root import main


@audit.command("ledger")
@click.option("--period", type=int, help="只检查该互助期（如 2025）；默认全部。")
@click.pass_context
def audit_ledger(ctx: click.Context, period: int | None) -> None:
    """检查互助期台账：由有效结果行重算每位会员每期的累计数，核对各项上限、天数上限和一次性给付只付一次，
    并核对每个批次计算时的台账。角色：任何角色（只读）。退出码：0 无问题，1 发现问题（逐条列出），2 输入无效。"""
    from claims.workflow.ledger import check_ledger
    from claims.workflow.users import require

    with _work(ctx) as session:
        require(session, ctx.obj["user"], "audit")
        violations = check_ledger(session, period)
    where = f"{period} 年度" if period is not None else "全部互助期"
    if violations:
        for violation in violations:
            click.echo(str(violation))
        click.echo(f"台账检查（{where}）发现 {len(violations)} 处问题。", err=True)
        sys.exit(1)
    click.echo(f"台账检查（{where}）通过：有效结果行与各项上限、一次性给付规则和各批次的计算台账一致。")


@main.group()
def correction() -> None:
    """更正的复核与追回：复核通过或驳回更正，登记追回。"""


@correction.command("list")
@click.pass_context
def correction_list(ctx: click.Context) -> None:
    """列出更正批次和重算批次及其状态、补发和追回合计。角色：任何角色。退出码 0。"""
    from claims.workflow.views import correction_table

    with _work(ctx) as session:
        click.echo(correction_table(session, ctx.obj["user"]))


@correction.command("approve")
@click.argument("batch_id", type=int)
@click.option("--note", default="", help="复核意见。")
@click.pass_context
def correction_approve(ctx: click.Context, batch_id: int, note: str) -> None:
    """复核通过一个更正批次：更正生效，补发可导出发放，追回列入追回清单。角色：审核员，且不能是提出更正的人。
    退出码：0 完成，1 拒绝（如台账在更正提出后已变动 [LEDGER_STALE]）。"""
    from claims.workflow.corrections import approve_correction

    with _work(ctx) as session:
        approve_correction(session, batch_id, ctx.obj["user"], note)
    click.echo(f"更正批次 {batch_id} 已复核通过并生效。")


@correction.command("reject")
@click.argument("batch_id", type=int)
@click.option("--note", required=True, help="驳回理由（必填）。")
@click.pass_context
def correction_reject(ctx: click.Context, batch_id: int, note: str) -> None:
    """驳回一个更正批次：申请和金额保持原样。角色：审核员，且不能是提出更正的人。退出码：0 完成，1 拒绝。"""
    from claims.workflow.corrections import reject_correction

    with _work(ctx) as session:
        reject_correction(session, batch_id, ctx.obj["user"], note)
    click.echo(f"更正批次 {batch_id} 已驳回，未生效。")


@correction.command("recovered")
@click.argument("recovery_id", type=int)
@click.option("--note", required=True, help="追回方式和凭证（必填），如“工资代扣 2025年7月”。")
@click.pass_context
def correction_recovered(ctx: click.Context, recovery_id: int, note: str) -> None:
    """登记一笔追回已收回（追回编号见追回清单）。角色：财务。退出码：0 完成，1 拒绝。"""
    from claims.workflow.payouts import record_recovered

    with _work(ctx) as session:
        done = record_recovered(session, recovery_id, ctx.obj["user"], note)
        amount = (done.before_fen - done.after_fen) / 100
    click.echo(f"追回 {recovery_id}（申请 {done.claim_id}）{amount:,.2f} 元已登记为已追回。")


@main.command("exports")
@click.option("--batch", "batch_id", type=int, help="只列出该批次的导出。")
@click.pass_context
def exports_list(ctx: click.Context, batch_id: int | None) -> None:
    """列出导出记录：发放表、银行文件、追回清单——类型、批次、文件、sha256、笔数、金额、是否重新导出、操作人、时间。
    角色：任何角色（只读）。退出码 0。"""
    from claims.workflow.views import export_table

    with _work(ctx) as session:
        click.echo(export_table(session, ctx.obj["user"], batch_id))
