"""`claims policy publish|approve|reject|list|diff`: the scheme's rules as approved versions in the database."""

from __future__ import annotations

import click

from claims.cli.common import _work
from claims.cli.policy_commands import policy


@policy.command("publish")
@click.argument("file", type=click.Path())
@click.option("--note", default="", help="发布说明，如“2026 年度委员会决议第 3 号”。")
@click.option("--from-period", type=int, default=None,
              help="自哪个互助期起适用，如 2026；不写则适用于全部互助期，直到有更晚起始的已批准版本。")
@click.pass_context
def policy_publish(ctx: click.Context, file: str, note: str, from_period: int | None) -> None:
    """发布策略文件为新的策略版本，状态“待批准”（经办员）。

    Store FILE's text and SHA-256 as a new version with who and when. A file that fails
    `claims policy check` is refused with every problem located (file:line). The version is used only
    after another person with the reviewer role approves it.
    Exit 0 published, 1 refused (role, same text already published), 2 the file is invalid."""
    from claims.workflow.policy_versions import publish

    with _work(ctx) as session:
        version = publish(session, file, ctx.obj["user"], note, from_period)
        number = version.id
    click.echo(f"策略版本 {number} 已发布（待批准）：{file}，sha256 {version.sha256}。"
               f"请另一位审核员运行 claims policy approve {number}")


@policy.command("approve")
@click.argument("version", type=int)
@click.option("--note", default="", help="审核意见（可选）。")
@click.pass_context
def policy_approve(ctx: click.Context, version: int, note: str) -> None:
    """批准一个待批准的策略版本（审核员，且不是发布人）。

    From then on, commands without --policy use it for the periods it covers (claims policy list).
    Recorded in the audit log. Exit 0 approved, 1 refused (role, publisher, not pending)."""
    from claims.workflow.policy_versions import approve

    with _work(ctx) as session:
        done = approve(session, version, ctx.obj["user"], note)
        scheme = done.scheme_name
    click.echo(f"策略版本 {version}（{scheme}）已批准")


@policy.command("reject")
@click.argument("version", type=int)
@click.option("--note", default="", help="驳回原因（必填，记入审计日志）。")
@click.pass_context
def policy_reject(ctx: click.Context, version: int, note: str) -> None:
    """驳回一个待批准的策略版本（审核员，且不是发布人）。

    A rejected version is never used. Recorded in the audit log.
    Exit 0 rejected, 1 refused (role, publisher, not pending, no reason)."""
    from claims.workflow.policy_versions import reject

    with _work(ctx) as session:
        reject(session, version, ctx.obj["user"], note)
    click.echo(f"策略版本 {version} 已驳回：{note}")


@policy.command("list")
@click.pass_context
def policy_list(ctx: click.Context) -> None:
    """列出全部策略版本：状态、适用互助期、发布人与批准人（任何角色）。"""
    from claims.workflow.policy_versions import version_table

    with _work(ctx) as session:
        click.echo(version_table(session, ctx.obj["user"]))


@policy.command("diff")
@click.argument("first", type=int)
@click.argument("second", type=int)
@click.pass_context
def policy_diff(ctx: click.Context, first: int, second: int) -> None:
    """用中文列出两个策略版本之间变化的参数（比例、限额、病种等），不是逐行文本比较（任何角色）。"""
    from claims.workflow.policy_versions import diff_versions

    with _work(ctx) as session:
        lines = diff_versions(session, first, second, ctx.obj["user"])
    for line in lines:
        click.echo(line)
