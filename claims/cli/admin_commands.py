"""`claims db ...` and `claims users ...`."""

from __future__ import annotations

import sys

import click

from claims.cli.common import _refuse, _work, aligned_table
from claims.cli.root import main
from claims.workflow.errors import InvalidInput


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
    revision, created, migrated = prepare_keys_and_log(ctx.obj["db"], _work(ctx, authenticate=False))
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


def read_secret(from_stdin: bool, prompt: str, confirm: bool) -> str:
    """A password: from standard input (one per line) or typed twice without echo."""
    if from_stdin:
        stream = sys.stdin  # one stream for every line (a new wrapper per call would lose buffered lines)
        first = stream.readline().rstrip("\r\n")
        second = stream.readline().rstrip("\r\n") if confirm else first
    else:
        try:
            first = click.prompt(prompt, hide_input=True, default="", show_default=False)
            second = click.prompt("再输入一次", hide_input=True, default="", show_default=False) if confirm else first
        except (click.Abort, EOFError):
            _refuse(InvalidInput("PASSWORD_MISSING", "没有输入密码（脚本中请用 --password-stdin）"))
    if first != second:
        _refuse(InvalidInput("PASSWORD_MISMATCH", "两次输入的密码不一致"))
    return first


@main.group()
def users() -> None:
    """用户和角色：admin 管理员、clerk 经办员、reviewer 审核员、finance 财务、auditor 审计、agent 基层工会代办员。

    管理员只管理用户和角色，不办理业务（不能导入、审核、导出）；业务角色不能兼任管理员。"""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "clerk", "reviewer", "finance", "auditor", "agent"]),
              help="admin 管理员；clerk 经办员；reviewer 审核员；finance 财务；auditor 审计；agent 基层工会代办员（须同时用 --unit 指定单位）。")
@click.option("--unit", default=None,
              help="代办员所在的单位，与会员名单“单位”一列的写法完全一致；只用于 agent，其他角色不能指定。")
@click.option("--password-stdin", is_flag=True,
              help="从标准输入读初始密码：第一行密码，第二行再输一次（脚本用）；不加则提示输入两次。")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, unit: str | None, password_stdin: bool) -> None:
    """添加用户（设初始密码，输入两次），或给已有用户再加一个角色。

    基层工会代办员（agent）绑定一个单位（--unit），只能导入和查看本单位的名单和申请，不兼任其他角色。

    新数据库的第一个用户无需登录，且必须是管理员（--role admin）；之后只有登录的管理员可以添加。
    用户名不能为空、不能有空格或不可见字符，最长 64 个字符；密码至少 10 个字符，不能是或包含用户名。

    \b
    角色：管理员（admin）；新数据库的第一个用户除外
    文件：无
    退出码：0 完成；1 拒绝（无权限、已存在）；2 输入无效（用户名或密码不合规、两次密码不一致、代办员缺单位或其他角色指定了单位）。"""
    from claims.workflow.units import unit_member_ids
    from claims.workflow.users import ROLES, add_user, check_name, check_unit, may_add

    with _work(ctx) as session:
        check_name(name)
        unit = check_unit(role, unit)
        may_add(session, ctx.obj["user"], name, role)  # refused before a password is asked for
        existing = _exists(session, name)
        password = None if existing else read_secret(password_stdin, f"用户 {name} 的初始密码", True)
        user = add_user(session, ctx.obj["user"], name, role, password, unit)
        roles = "、".join(ROLES[r] for r in user.role.split(","))
        no_members = unit is not None and not unit_member_ids(session, unit)
    click.echo(f"用户 {name} 的角色：{roles}" + (f"，单位：{unit}" if unit else ""))
    if no_members:
        click.echo(f"注意：库中还没有单位“{unit}”的会员；请核对单位名称与会员名单“单位”一列的写法是否完全一致"
                   "（新单位可由代办员先导入会员名单）", err=True)


def _exists(session, name: str) -> bool:
    from claims.store.models import User

    return session.get(User, name) is not None


@users.command("passwd")
@click.argument("name", required=False)
@click.option("--password-stdin", is_flag=True,
              help="从标准输入读：改自己的密码时第一行旧密码，再两行新密码；管理员重置他人密码时两行新密码。")
@click.pass_context
def users_passwd(ctx: click.Context, name: str | None, password_stdin: bool) -> None:
    """修改自己的密码（需输入旧密码），或由管理员重置某用户的密码（同时解除锁定）。

    \b
    角色：任何已登录的用户改自己的密码；管理员重置他人的密码
    文件：无
    退出码：0 完成；1 拒绝（旧密码错误、无权限）；2 输入无效（新密码不合规、两次不一致）。"""
    from claims.workflow.auth import check_password_of
    from claims.workflow.users import set_password

    refusal = None
    with _work(ctx) as session:
        acting = ctx.obj["user"]
        if not acting:
            from claims.workflow.users import require

            require(session, acting, "list_users")
        target = name or acting
        if target == acting:
            old = read_secret(password_stdin, "旧密码", False)
            refusal = check_password_of(session, acting, old, "cli")
        if refusal is None:
            new = read_secret(password_stdin, f"用户 {target} 的新密码", True)
            set_password(session, acting, target, new)
    if refusal is not None:
        _refuse(refusal)
    click.echo(f"用户 {target} 的密码已修改")


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """停用用户：不能再登录，已有的登录立即失效（历史记录保留）。

    \b
    角色：管理员（admin）
    文件：无
    退出码：0 完成；1 拒绝（无权限、用户不存在、停用自己）。"""
    from claims.workflow.users import set_disabled

    with _work(ctx) as session:
        set_disabled(session, ctx.obj["user"], name, True)
    click.echo(f"用户 {name} 已停用")


@users.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """重新启用已停用的用户（同时解除锁定）。

    \b
    角色：管理员（admin）
    文件：无
    退出码：0 完成；1 拒绝（无权限、用户不存在）。"""
    from claims.workflow.users import set_disabled

    with _work(ctx) as session:
        set_disabled(session, ctx.obj["user"], name, False)
    click.echo(f"用户 {name} 已启用")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """列出全部用户：角色、代办员的单位、状态（启用、停用、锁定至何时）、最近登录。

    \b
    角色：任何已登录的用户
    文件：无
    退出码：0 完成；1 拒绝（未登录）。"""
    from claims.workflow.auth import beijing
    from claims.workflow.users import list_users, role_names

    with _work(ctx) as session:
        rows = []
        now = _now()
        for user in list_users(session, ctx.obj["user"]):
            if user.disabled:
                state = "停用"
            elif user.locked_until and user.locked_until > now:
                state = f"锁定至 {beijing(user.locked_until)}"
            else:
                state = "启用"
            last = beijing(user.last_login_at) if user.last_login_at else "从未登录"
            rows.append((user.name, role_names(user), user.unit or "", state, last))
    click.echo(aligned_table(("用户名", "角色", "单位", "状态", "最近登录"), rows))


def _now():
    from claims.workflow.audit_log import now

    return now()
