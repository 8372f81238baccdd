"""`claims audit ...` and `claims simulate`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from claims.cli.common import Refused, _fail, _work
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.group()
def audit() -> None:
    """审计：复算批次、复算离线复算包、核验审计日志。"""


@audit.command("rerun")
@click.argument("batch_id", type=int, required=False)
@click.option("--bundle", "bundle", type=click.Path(), help="复算包（zip）；无需数据库。")
@click.pass_context
def audit_rerun(ctx: click.Context, batch_id: int | None, bundle: str | None) -> None:
    """按批次保存的快照重新计算并逐行比对；有任何差异退出码为 1。

    \b
    角色：所有角色（只读）
    文件：复算包 zip（--bundle，由 claims audit bundle 生成）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.bundle import BundleRefused, read_bundle
    from claims.audit.rerun import describe, rerun, snapshot_of_batch
    from claims.bulk import collector_paused

    if (batch_id is None) == (bundle is None):
        raise Refused("请给出批次号，或用 --bundle 指定复算包（二者选一）")
    if bundle:
        try:
            snapshot, manifest_sha = read_bundle(Path(bundle))
        except BundleRefused as refused:
            click.echo(f"拒绝：{refused.message} [{refused.code}]", err=True)
            sys.exit(1)
        click.echo(f"复算包 {bundle} 通过清单核对（manifest sha256 {manifest_sha}）")
    else:
        with _work(ctx) as session:
            snapshot = snapshot_of_batch(session, batch_id, ctx.obj["user"])
    with collector_paused():
        report = rerun(snapshot)
    for line in describe(report):
        click.echo(line)
    sys.exit(0 if report.identical else 1)


@audit.command("bundle")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="复算包 zip 文件。")
@click.pass_context
def audit_bundle(ctx: click.Context, batch_id: int, out: str) -> None:
    """把一个批次写成可离线复算的复算包（zip）。

    \b
    角色：所有角色（只读）
    文件：无；写出 zip 文件
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.bundle import bundle_batch

    with _work(ctx) as session:
        written = bundle_batch(session, batch_id, Path(out), ctx.obj["user"])
    click.echo(f"复算包已写入 {out}：{written.files} 个文件；清单 manifest.json 的 sha256 为 {written.manifest_sha256}"
               "（已记入审计日志，请与复算包一起保存）")


@audit.command("verify-log")
@click.pass_context
def audit_verify_log(ctx: click.Context) -> None:
    """核验审计日志的哈希链；有被改动、删除或调换的记录时退出码为 1 并逐条指出。

    \b
    角色：所有角色（只读）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.audit_log import verify
    from claims.workflow.users import require

    with _work(ctx) as session:
        require(session, ctx.obj["user"], "audit")
        count, breaks = verify(session)
    if breaks:
        for found in breaks:
            click.echo(f"第 {found.seq} 条：[{found.code}] {found.message}", err=True)
        click.echo(f"审计日志共 {count} 条，发现 {len(breaks)} 处问题。", err=True)
        sys.exit(1)
    click.echo(f"审计日志完好：共 {count} 条记录，哈希链首尾相接。")



@main.command()
@click.option("--policy", "draft_file", required=True, type=click.Path(), help="草案策略文件。")
@click.option("--period", required=True, type=int, help="互助期，如 2025。")
@click.option("--current", "current_file", type=click.Path(), help="现行策略文件（默认：该年度最近一个批次所用的策略）。")
@click.option("-o", "--out", type=click.Path(), help="把对比写入 XLSX 文件。")
@click.pass_context
def simulate(ctx: click.Context, draft_file: str, period: int, current_file: str | None, out: str | None) -> None:
    """模拟草案策略的成本：用现行策略和草案分别重算某年度的申请并对比；不改变任何数据。

    \b
    角色：所有角色（只读）
    文件：策略文件 YAML（--policy 草案，--current 现行，示例见 policies/draft-example.yaml）；写出 XLSX 对比表（-o）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.whatif import describe, write_whatif
    from claims.audit.whatif import simulate as run
    from claims.policy import read_policy

    try:
        draft = read_policy(draft_file)
        current = read_policy(current_file) if current_file else None
    except ProblemsFound as found:
        _fail(found)
    with _work(ctx) as session:
        whatif = run(session, draft, period, ctx.obj["user"], current)
        session.rollback()  # a simulation never writes
    for line in describe(whatif):
        click.echo(line)
    if out:
        write_whatif(whatif, out)
        click.echo(f"对比表已写入 {out}")
