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
    """Create the database, or upgrade it to the newest schema (migrations)."""
    from claims.store.database import current_revision, init_database

    before = current_revision(ctx.obj["db"])
    revision = init_database(ctx.obj["db"])
    if before is None:
        click.echo(f"已新建数据库 {ctx.obj['db']}（迁移版本 {revision}）")
    elif before != revision:
        click.echo(f"数据库 {ctx.obj['db']} 已从迁移版本 {before} 升级到 {revision}")
    else:
        click.echo(f"数据库 {ctx.obj['db']} 已是最新结构（迁移版本 {revision}），无需改动")


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
