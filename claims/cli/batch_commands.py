"""`claims batch ...`, `claims explain`, `claims review ...`, `claims claim ...`."""

from __future__ import annotations

import click

from claims.cli.common import Refused, _fail, _work
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.group()
def batch() -> None:
    """计算批次：创建、列出、查看、标记已支付。"""


@batch.command("create")
@click.option("--policy", "policy_file", type=click.Path(),
              help="策略文件（YAML）；默认用该互助期已批准的策略版本。已有已批准版本时，文件须与某个已批准版本内容相同。")
@click.option("--period", required=True, type=int, help="互助期，如 2025。")
@click.option("--name", default="", help="批次名称（默认：2025 年度第 N 批）。")
@click.option("--claim", "claim_ids", multiple=True, help="只计算这些申请（可重复）；默认该互助期全部已受理的申请。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="并行进程数（按会员分片，结果与单进程完全相同）。")
@click.pass_context
def batch_create(ctx: click.Context, policy_file: str | None, period: int, name: str, claim_ids: tuple[str, ...],
                 workers: int) -> None:
    """按已结算的累计额计算某互助期已受理的申请，输出批次号。


    在此前所有仍有效的结果行（已计算、已通过、已支付）之后计算，使用该互助期生效的已批准策略版本（或 --policy 文件），
    并先核对所用参保记录是否符合该策略。

    \b
    角色：经办员（clerk）
    文件：策略文件 YAML（--policy，可省略：用已批准的版本）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.policy import read_policy
    from claims.workflow.batches import create_batch

    loaded = None
    if policy_file:
        try:
            loaded = read_policy(policy_file)
        except ProblemsFound as found:
            _fail(found)
    with _work(ctx) as session:
        created = create_batch(session, loaded, period, ctx.obj["user"], name, list(claim_ids) or None,
                               progress=lambda message: click.echo(message, err=True), workers=workers)
    used = f"策略版本 {created.policy_version_id}" if created.policy_version_id else f"策略文件 {created.policy_name}"
    click.echo(f"批次 {created.id}（{created.name}，{used}）：{created.claim_count} 件申请，{created.line_count} 行结果，"
               f"拟补助合计 {created.total_fen / 100:,.2f} 元", err=True)
    click.echo(created.id)


@batch.command("list")
@click.option("--period", type=int, help="只列出该互助期的批次。")
@click.pass_context
def batch_list(ctx: click.Context, period: int | None) -> None:
    """列出批次：批次号、互助期、状态和合计。

    \b
    角色：所有角色（只读）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.views import batch_table

    with _work(ctx) as session:
        click.echo(batch_table(session, ctx.obj["user"], period))


@batch.command("show")
@click.argument("batch_id", type=int)
@click.pass_context
def batch_show(ctx: click.Context, batch_id: int) -> None:
    """查看一个批次：所用策略、各保障项目合计、各状态的申请数。

    \b
    角色：所有角色（只读）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.views import batch_summary

    with _work(ctx) as session:
        click.echo(batch_summary(session, ctx.obj["user"], batch_id))


@main.command()
@click.argument("claim_id")
@click.pass_context
def explain(ctx: click.Context, claim_id: str) -> None:
    """一件申请当前的各行结果和计算说明，可在电话中照读。

    \b
    角色：所有角色（只读）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.views import claim_explanation

    with _work(ctx) as session:
        click.echo(claim_explanation(session, ctx.obj["user"], claim_id))


@main.group()
def review() -> None:
    """审核表：导出批次供审核，导入审核结论。"""


@review.command("export")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="审核表 XLSX 文件。")
@click.pass_context
def review_export(ctx: click.Context, batch_id: int, out: str) -> None:
    """写出批次的审核表：计算结果锁定，每件申请一个 通过/退回/不予补助 下拉选择。

    \b
    角色：所有角色（通常为审核员）
    文件：写出 XLSX（-o）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.review import export_review

    with _work(ctx) as session:
        count = export_review(session, batch_id, out, ctx.obj["user"])
    click.echo(f"审核表已写入 {out}：批次 {batch_id}，{count} 件申请")


@review.command("import")
@click.argument("file", type=click.Path(exists=True))
@click.pass_context
def review_import(ctx: click.Context, file: str) -> None:
    """导入填好的审核表，全部生效或全部不生效。

    表中计算结果被改动、批次不符或申请已变动时整表拒绝并指出单元格。

    \b
    角色：审核员（reviewer）
    文件：本系统导出的审核表 XLSX
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.decisions import DECISION_NAMES
    from claims.workflow.review import import_review

    with _work(ctx) as session:
        done = import_review(session, file, ctx.obj["user"])
    summary = "，".join(f"{DECISION_NAMES[k]} {v} 件" for k, v in sorted(done.decided.items()))
    click.echo(f"批次 {done.batch_id} 的审核结论已导入：{summary}")
    if done.recalculated:
        click.echo(f"申请 {'、'.join(done.recalculated)} 因本表中更早的申请被退回或不予补助而重新计算，金额已变，"
                   "其结论未应用（仍为“已计算”）；请重新导出审核表审核这些申请 [RECALCULATED]")


@main.group()
def claim() -> None:
    """单件申请：审核决定、更正。"""


@claim.command("decide")
@click.argument("claim_id")
@click.option("--approve", "decision", flag_value="approve", help="通过。")
@click.option("--return", "decision", flag_value="return", help="退回（补充材料后可重新提交）。")
@click.option("--refuse", "decision", flag_value="refuse", help="不予补助（须写备注）。")
@click.option("--note", default="", help="备注。")
@click.pass_context
def claim_decide(ctx: click.Context, claim_id: str, decision: str | None, note: str) -> None:
    """对一件已计算的申请作出决定：通过、退回或不予补助。

    已经审核表决定过的申请不能再决定；要改决定请用 claims claim correct 或重新计算。
    补助超过设置文件（CLAIMS_SETTINGS 或当前文件夹的 claims-settings.yaml）中 review.second_reviewer_above
    的申请须两位不同的审核员先后通过（会审）：第一位通过后为“会审待复核”。

    \b
    角色：审核员（reviewer）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.decisions import DECISION_NAMES, decide

    if decision is None:
        raise Refused("请选择 --approve、--return 或 --refuse 之一")
    with _work(ctx) as session:
        claim = decide(session, claim_id, decision, ctx.obj["user"], note)
        waiting = claim.state == "calculated"
    click.echo(f"申请 {claim_id}：{DECISION_NAMES[decision]}"
               + ("（会审待复核：须另一位审核员通过）" if waiting else ""))


@claim.command("correct")
@click.argument("claim_id")
@click.option("--set", "sets", multiple=True, required=True, help="字段=值，可重复，如 --set self_pay_in_scope=5000.00")
@click.option("--reason", required=True, help="更正原因（必填，记入审计日志）。")
@click.pass_context
def claim_correct(ctx: click.Context, claim_id: str, sets: tuple[str, ...], reason: str) -> None:
    """更正一件已结算的申请；该会员该互助期之后的申请重新计算，列出补发和追回。

    \b
    角色：经办员（clerk）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.corrections import correct, parse_sets
    from claims.workflow.views import adjustment_table

    with _work(ctx) as session:
        done = correct(session, claim_id, parse_sets(list(sets)), reason, ctx.obj["user"])
        click.echo(f"申请 {claim_id} 的更正已提出（更正批次 {done.batch.id}，待复核）：须由另一位审核员用 "
                   f"claims correction approve {done.batch.id} 复核通过后才生效。")
        click.echo(adjustment_table(done.adjustments))


@batch.command("mark-paid")
@click.argument("batch_id", type=int)
@click.pass_context
def batch_mark_paid(ctx: click.Context, batch_id: int) -> None:
    """钱已发出后，把批次中已通过的申请标记为已支付。

    \b
    角色：财务（finance）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.payouts import mark_paid

    with _work(ctx) as session:
        count, total = mark_paid(session, batch_id, ctx.obj["user"])
    click.echo(f"批次 {batch_id}：{count} 件申请标记为已支付，合计 {total:,.2f} 元")
