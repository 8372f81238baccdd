"""`claims login`, `claims logout`, `claims audit access` and `claims serve`."""

from __future__ import annotations

import click

from claims.cli.admin_commands import read_secret
from claims.cli.audit_commands import audit
from claims.cli.common import _refuse, _work, aligned_table, chosen_login, forget_login, remember_login
from claims.cli.root import main


@main.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入的第一行读密码（脚本用）；不加则提示输入。")
@click.pass_context
def login(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """登录：核对密码，在本机保存 8 小时有效的登录凭据。

    凭据文件只有本操作系统用户可读（默认 ~/.claims/logins.json，可用环境变量 CLAIMS_TOKEN_FILE 改位置），
    数据库里只存凭据的哈希。

    连续 5 次密码错误锁定 15 分钟。同一台电脑可同时登录几个用户，用 --user 选用其中之一。

    \b
    角色：任何用户
    文件：登录凭据文件（自动写入，权限 0600；其他人可读的文件会被拒绝）
    退出码：0 已登录；1 拒绝（密码错误、已锁定、已停用、凭据文件不安全）；2 没有输入密码。"""
    from claims.cli.common import database_key, read_logins
    from claims.store.models import User
    from claims.workflow.auth import beijing
    from claims.workflow.auth import login as check_login
    from claims.workflow.auth import logout as end_login
    from claims.workflow.users import role_names

    previous = [e for e in read_logins() if e["db"] == database_key(ctx.obj["db"]) and e["user"] == name]
    password = read_secret(password_stdin, f"用户 {name} 的密码", False)  # (an unsafe token file was refused above)
    with _work(ctx, authenticate=False) as session:
        outcome = check_login(session, name, password, "cli")
        for entry in previous if outcome.ok else []:  # logging in again replaces the earlier login
            end_login(session, entry["token"])
        roles = role_names(session.get(User, name)) if outcome.ok else ""
    if not outcome.ok:
        _refuse(outcome.refusal)
    remember_login(ctx.obj["db"], name, outcome.token, outcome.expires_at)
    click.echo(f"已登录：{name}（{roles}），有效至 {beijing(outcome.expires_at)}")


@main.command()
@click.option("--all", "everyone", is_flag=True, help="退出本机在这个数据库上的全部登录。")
@click.pass_context
def logout(ctx: click.Context, everyone: bool) -> None:
    """退出登录：凭据在数据库中作废，并从本机文件删除。

    \b
    角色：已登录的用户
    文件：登录凭据文件
    退出码：0 完成；1 拒绝（本机没有登录这个数据库）。"""
    from claims.cli.common import database_key, read_logins
    from claims.workflow.auth import logout as end_login
    from claims.workflow.errors import Refusal

    if everyone:
        entries = [e for e in read_logins() if e["db"] == database_key(ctx.obj["db"])]
    else:
        entry = chosen_login(ctx.obj["db"], ctx.obj.get("chosen_user"))
        entries = [entry] if entry else []
    if not entries:
        _refuse(Refusal("NOT_LOGGED_IN", "本机没有登录这个数据库"))
    with _work(ctx, authenticate=False) as session:
        for entry in entries:
            end_login(session, entry["token"])
    for entry in entries:
        forget_login(ctx.obj["db"], entry["user"])
        click.echo(f"已退出：{entry['user']}")


@audit.command("access")
@click.option("--member", "member_id", default=None, help="只列出这位会员（会员编号）的个人信息被查看的记录。")
@click.pass_context
def audit_access(ctx: click.Context, member_id: str | None) -> None:
    """列出工作人员查看会员个人信息（身份证号、银行账号、诊断）的记录：谁、看了谁、何时、看了什么。

    \b
    角色：审计（auditor）
    文件：无
    退出码：0 完成；1 拒绝（未登录、无权限）。"""
    from claims.workflow.access import access_records, access_rows

    with _work(ctx) as session:
        rows = access_rows(access_records(session, ctx.obj["user"], member_id))
    if not rows:
        click.echo("没有查看记录。")
        return
    click.echo(aligned_table(("时间（北京时间）", "查看人", "会员编号", "看了什么", "说明"), rows))
    click.echo(f"共 {len(rows)} 条")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；对外服务请放在 HTTPS 反向代理之后。")
@click.option("--port", default=8000, show_default=True, type=int, help="端口。")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """启动网页工作台（uvicorn）：登录页 /login，工作台 /，健康检查 /healthz。

    使用 --db 指定的数据库（默认 SQLite，也可 PostgreSQL）；按 Ctrl+C 停止。网页上的每个人用自己的用户名和密码登录。

    \b
    角色：任何人启动；网页上按各自角色办理
    文件：无
    退出码：0 正常停止；2 数据库未初始化或端口被占用。"""
    import socket

    import uvicorn

    from claims.store.database import NotInitialised, Store, check_initialised
    from claims.web.app import create_app

    store = Store(ctx.obj["db"])
    try:
        check_initialised(store.engine)
    except NotInitialised as error:
        click.echo(str(error), err=True)
        raise SystemExit(2) from None
    finally:
        store.dispose()
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        click.echo(f"无法在 {host}:{port} 上启动：{error.strerror}（端口被占用或地址无效），请换一个 --port [SERVE_PORT]", err=True)
        raise SystemExit(2) from None
    click.echo(f"网页工作台：http://{host}:{port}/ （按 Ctrl+C 停止）")
    uvicorn.run(create_app(ctx.obj["db"]), host=host, port=port, proxy_headers=True, server_header=False,
                log_level="warning")
