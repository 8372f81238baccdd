"""`claims db ...` and `claims users ...`."""

from __future__ import annotations

import click

from claims.cli.common import _work
from claims.cli.root import main


@main.group("db")
def db_group() -> None:
    """数据库：新建或升级（默认为当前文件夹的 SQLite 文件 claims.db，也可用 --db 指定）。"""


@db_group.command("init")
@click.pass_context
def db_init(ctx: click.Context) -> None:
    """新建数据库，或把已有数据库升级到最新结构（迁移）。

    \b
    角色：任何人（无需 --user）
    文件：无；数据库地址来自 --db 或 CLAIMS_DB
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.keys import key_dir
    from claims.store.database import current_revision
    from claims.workflow.audit_log import prepare_keys_and_log

    before = current_revision(ctx.obj["db"])
    revision, created, migrated = prepare_keys_and_log(ctx.obj["db"], _work(ctx))
    if before is None:
        click.echo(f"已新建数据库 {ctx.obj['db']}（迁移版本 {revision}）")
    elif before != revision:
        click.echo(f"数据库 {ctx.obj['db']} 已从迁移版本 {before} 升级到 {revision}")
    else:
        click.echo(f"数据库 {ctx.obj['db']} 已是最新结构（迁移版本 {revision}），无需改动")
    for path in created:
        click.echo(f"已生成密钥文件 {path}（仅本人可读写）；请备份并妥善保管，不要放进数据库或与数据库放在一起")
    if not created:
        click.echo(f"使用密钥文件夹 {key_dir()}")
    if migrated:
        click.echo(f"审计日志 {migrated} 条记录已核对并迁移为加密钥链（记入审计日志 audit.rekey）")


@main.group()
def users() -> None:
    """用户和角色：经办员、审核员、财务、审计。"""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["clerk", "reviewer", "finance", "auditor"]),
              help="clerk 经办员；reviewer 审核员；finance 财务；auditor 审计。")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str) -> None:
    """添加用户，或给已有用户再加一个角色。

    新数据库的第一个用户任何人都可添加。

    \b
    角色：经办员（clerk）；新数据库的第一个用户除外
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.workflow.users import ROLES, add_user

    with _work(ctx) as session:
        user = add_user(session, ctx.obj["user"], name, role)
        roles = "、".join(ROLES[r] for r in user.role.split(","))
    click.echo(f"用户 {name} 的角色：{roles}")
