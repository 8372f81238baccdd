"""免申即享 and after the bank: `batch auto-approve`, `export sms`, `report`."""

from __future__ import annotations

from pathlib import Path

import click

from claims.cli.batch_commands import batch
from claims.cli.common import _fail, _work
from claims.cli.export_commands import export_group
from claims.cli.root import main
from claims.problems import ProblemsFound


@batch.command("auto-approve")
@click.argument("batch_id", type=int)
@click.option("--settings", "settings_file", type=click.Path(),
              help="设置文件（YAML，auto_approve 一节）；默认 $CLAIMS_SETTINGS 或当前文件夹的 claims-settings.yaml。")
@click.pass_context
def batch_auto_approve(ctx: click.Context, batch_id: int, settings_file: str | None) -> None:
    """自动审核（免申即享）：按设置文件中的规则，以审核员本人名义通过符合条件的申请。

    条件：补助合计大于 0 且不超过规定金额、无提示（设置中列出的原因、结算姓名不符）、未经更正或退回重报。
    其余留在审核队列。每件通过和整批规则都记入审计日志。审核员（reviewer）可运行，且不能是导入申请或
    创建批次的人。退出码：0 完成，1 拒绝，2 设置文件有误。"""
    from claims.settings import auto_approve_rule
    from claims.workflow.autoapprove import auto_approve

    try:
        rule = auto_approve_rule(settings_file)
    except ProblemsFound as found:
        _fail(found)
    with _work(ctx) as session:
        done = auto_approve(session, batch_id, ctx.obj["user"], rule)
    click.echo(f"规则：{rule.describe()}（{rule.file}）")
    click.echo(f"批次 {batch_id}：自动通过 {len(done.approved)} 件，合计 {done.total:,.2f} 元；"
               f"留待人工审核 {sum(len(v) for v in done.waiting.values())} 件")
    for why, claims in done.waiting.items():
        click.echo(f"  {why}：{'、'.join(claims[:20])}" + (f" 等 {len(claims)} 件" if len(claims) > 20 else ""))


@export_group.command("sms")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="短信 CSV（手机号、短信内容）。")
@click.option("--settings", "settings_file", type=click.Path(), help="设置文件（sms.signature 为短信签名）。")
@click.pass_context
def export_sms_command(ctx: click.Context, batch_id: int, out: str, settings_file: str | None) -> None:
    """到账短信：每位会员一条，不超过 70 字，只发已到账（已支付）的补助。

    没有手机号的会员另列在 <文件名>-无手机号.csv。财务（finance）可运行。
    退出码：0 完成，1 拒绝（尚无到账款项、角色不符）。"""
    from claims.settings import sms_signature
    from exports.sms import build_messages, write_sms

    try:
        with _work(ctx) as session:
            from claims.store.models import Batch
            from claims.workflow.batches import policy_of

            batch_row = session.get(Batch, batch_id)
            fallback = policy_of(batch_row).policy.scheme.issuer if batch_row else ""
            messages = build_messages(session, batch_id, ctx.obj["user"], sms_signature(settings_file, fallback))
            apart = write_sms(messages, Path(out))
            from claims.workflow import audit_log

            audit_log.append(session, ctx.obj["user"], "export.sms", "batch", batch_id,
                             {"file": Path(out).name, "messages": len(messages.sent),
                              "without_phone": [m[0] for m in messages.without_phone]})
    except ProblemsFound as found:
        _fail(found)
    click.echo(f"到账短信已写入 {out}：{len(messages.sent)} 条，每条不超过 70 字，到账合计 {messages.total:,.2f} 元")
    if apart:
        click.echo(f"{len(messages.without_phone)} 位会员没有手机号，另列在 {apart}：")
        for member_id, name, unit, amount in messages.without_phone:
            click.echo(f"  {member_id} {name}（{unit}）{amount:,.2f} 元")


@main.command("report")
@click.argument("period", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="报表 XLSX 文件。")
@click.option("--policy", "policy_file", type=click.Path(), help="策略文件；默认为该互助期最近一个批次所用的策略。")
@click.pass_context
def report_command(ctx: click.Context, period: int, out: str, policy_file: str | None) -> None:
    """互助期报表：参保人数与互助金收入（按项目、按单位）、申请、补助支出、补助率（补助支出 ÷ 互助金收入）、
    人均补助，附图表；补助支出与各批次已支付合计到分核对。

    任何角色可运行（只读）。退出码：0 完成，1 拒绝（该期无批次且未给 --policy），2 策略文件有误。"""
    from claims.policy import read_policy
    from claims.workflow.report import period_report
    from exports.report import write_report

    loaded = None
    if policy_file:
        try:
            loaded = read_policy(policy_file)
        except ProblemsFound as found:
            _fail(found)
    with _work(ctx) as session:
        report = period_report(session, period, ctx.obj["user"], loaded)
        by_batch = write_report(report, Path(out))
    t = report.total
    ratio = f"{t.ratio:.2%}" if t.ratio is not None else "—"
    click.echo(f"{period} 年度报表已写入 {out}：参保 {len(t.members)} 人，互助金收入 {t.income:,.2f} 元，"
               f"补助支出 {t.paid:,.2f} 元（{len(t.paid_claims)} 人次），补助率 {ratio}")
    click.echo(f"与批次核对：{len(report.batches)} 个批次已支付合计 {by_batch:,.2f} 元，"
               + ("一致" if by_batch == t.paid else "不一致"))
