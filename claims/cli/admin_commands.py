"""`claims db ...` and `claims users ...`."""

from __future__ import annotations

import click

from claims.cli.common import _work
from claims.cli.root import main


@main.group("db")
def db_group() -> None:
    """The database (SQLite file by default; any SQLAlchemy URL with --db)."""


@db_group.command("init")
@click.pass_context
def db_init(ctx: click.Context) -> None:
    """Create the database, or upgrade it to the newest schema (migrations).

    \b
    建立或升级数据库；首次安装时在密钥文件夹（环境变量 CLAIMS_KEY_DIR，默认 ~/.config/claims/keys）
    生成审计日志密钥和签名私钥（仅本人可读写），并说明位置。旧版本的审计日志会在核对后迁移为加密钥链。
    由系统管理员运行。退出码：0 完成；1 拒绝（如旧审计日志不完整、密钥不符）；2 输入无效。
    """
    from claims.audit.keys import key_dir
    from claims.workflow.audit_log import prepare_keys_and_log

    revision, created, migrated = prepare_keys_and_log(ctx.obj["db"], _work(ctx))
    click.echo(f"数据库 {ctx.obj['db']} 已是最新结构（迁移版本 {revision}）")
    for path in created:
        click.echo(f"已生成密钥文件 {path}（仅本人可读写）；请备份并妥善保管，不要放进数据库或与数据库放在一起")
    if not created:
        click.echo(f"使用密钥文件夹 {key_dir()}")
    if migrated:
        click.echo(f"审计日志 {migrated} 条记录已核对并迁移为加密钥链（记入审计日志 audit.rekey）")


@main.group()
def users() -> None:
    """Users and their roles: clerk, reviewer, finance, auditor."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["clerk", "reviewer", "finance", "auditor"]),
              help="clerk 经办员；reviewer 审核员；finance 财务；auditor 审计。")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str) -> None:
    """Add a user, or give an existing user one more role. The first user of a new database may be
    added by anyone; later ones by a clerk."""
    from claims.workflow.users import ROLES, add_user

    with _work(ctx) as session:
        user = add_user(session, ctx.obj["user"], name, role)
        roles = "、".join(ROLES[r] for r in user.role.split(","))
    click.echo(f"用户 {name} 的角色：{roles}")
