"""Users and roles: who may do what (SPEC §6), and who manages users.

Identity is proven at the doors (``claims login`` for the command line, the login page for the browser,
see claims/workflow/auth.py); the functions here take an already authenticated user name.

The administrator (``admin``) manages users and roles and holds no other role: an administrator may not
import, decide, export or read members' data, and a user who holds a workflow role cannot be made an
administrator. So nobody can mint a second identity to approve their own work without a second person.

A base-union agent (``agent``, 基层工会代办员) is bound to one unit (``users.unit``, the members' 单位): they
import their unit's files and see their unit's claims, nothing else; the role is never combined with another
(claims/workflow/units.py holds the checks on the unit).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from claims.store.models import LoginSession, User
from claims.workflow import audit_log
from claims.workflow.errors import InvalidInput, Refusal

ROLES = {
    "clerk": "经办员（导入、计算）",
    "reviewer": "审核员（审核决定）",
    "finance": "财务（导出、标记已支付）",
    "auditor": "审计（只读、复算）",
    "admin": "管理员（管理用户和角色，不办理业务）",
    "agent": "基层工会代办员（只导入和查看本单位的名单和申请）",
}
WORK_ROLES = {"clerk", "reviewer", "finance", "auditor"}

# action → roles allowed
PERMISSIONS = {
    "import": {"clerk", "agent"},  # an agent only for their own unit (claims/workflow/units.py)
    "calculate": {"clerk"},
    "correct": {"clerk"},
    "decide": {"reviewer"},
    "export": {"finance"},
    "mark_paid": {"finance"},
    "manage_users": {"admin"},
    "list_users": set(ROLES),
    "publish_policy": {"clerk"},
    "approve_policy": {"reviewer"},
    "read": set(WORK_ROLES),
    "audit": set(WORK_ROLES),
    "audit_access": {"auditor"},
    "unit_status": {"agent"},
}

NAME_MAX = 64  # users.name is VARCHAR(64) on every database
PASSWORD_MIN = 10


def require(session: Session, user_name: str | None, action: str) -> User:
    if not user_name:
        raise Refusal("LOGIN_REQUIRED", "请先登录：claims login 用户名")
    user = session.get(User, user_name)
    if user is None:
        raise Refusal("USER_UNKNOWN", f"用户“{user_name}”不存在，请管理员先用 claims users add 添加")
    if user.disabled:
        raise Refusal("USER_DISABLED", f"用户“{user_name}”已停用")
    allowed = PERMISSIONS[action]
    if not allowed & roles_of(user):
        roles = "、".join(_short(r) for r in ROLES if r in allowed)  # in the order roles are listed
        held = "、".join(_short(r) for r in sorted(roles_of(user)))
        raise Refusal("ROLE_REFUSED", f"用户“{user_name}”的角色是{held}，此操作只允许{roles}执行")
    return user


def roles_of(user: User) -> set[str]:
    return set(user.role.split(","))


def _short(role: str) -> str:
    return ROLES[role].split("（")[0]


def role_names(user: User) -> str:
    return "、".join(_short(r) for r in sorted(roles_of(user)))


def check_name(name: str) -> None:
    """The same rule on SQLite and PostgreSQL, before the database sees the name."""
    shown = f"“{name}”"
    if not name or not name.strip():
        raise InvalidInput("USER_NAME_EMPTY", "用户名不能为空")
    if name != name.strip():
        raise InvalidInput("USER_NAME_SPACES", f"用户名 {shown} 的开头或结尾有空格，请去掉")
    if len(name) > NAME_MAX:
        raise InvalidInput("USER_NAME_TOO_LONG", f"用户名“{name[:20]}…”有 {len(name)} 个字符，最长 {NAME_MAX} 个")
    for position, char in enumerate(name, 1):
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}:
            raise InvalidInput("USER_NAME_CHARACTER",
                               f"用户名 {shown} 第 {position} 个字符（U+{ord(char):04X}）是空白、控制或不可见字符，不能用作用户名")
    if "," in name:
        raise InvalidInput("USER_NAME_CHARACTER", f"用户名 {shown} 不能含逗号")


def check_password(name: str, password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput("PASSWORD_TOO_SHORT", f"密码至少 {PASSWORD_MIN} 个字符（现在 {len(password)} 个）")
    if password.strip().casefold() == name.casefold() or name.casefold() in password.casefold():
        raise InvalidInput("PASSWORD_IS_NAME", "密码不能是用户名，也不能包含用户名")


def is_bootstrap(session: Session) -> bool:
    """Nobody can log in yet — a new database, or one upgraded from before logins (its users have no
    password) — so the first administrator is added without a login."""
    return session.scalar(select(func.count()).select_from(User).where(User.password_hash.is_not(None))) == 0


def may_add(session: Session, acting: str | None, name: str, role: str) -> bool:
    """Refuses unless ``acting`` may add a user with ``role`` now; True for a new database's first user."""
    if not is_bootstrap(session):
        require(session, acting, "manage_users")
        return False
    if role != "admin":
        raise Refusal("FIRST_USER_ADMIN", "新数据库的第一个用户必须是管理员："
                      f"claims users add {name} --role admin；再由管理员添加经办员、审核员等")
    return True


def check_unit(role: str, unit: str | None) -> str | None:
    """An agent needs the unit they act for; no other role has one. Returns the unit as stored."""
    if role != "agent":
        if unit is not None:
            raise InvalidInput("UNIT_NOT_FOR_ROLE", f"只有基层工会代办员（agent）绑定单位；角色 {_short(role)} 不能指定 --unit")
        return None
    unit = (unit or "").strip()
    if not unit:
        raise InvalidInput("UNIT_REQUIRED", "基层工会代办员必须绑定一个单位：claims users add 用户名 --role agent --unit 单位名称"
                           "（与会员名单“单位”一列的写法完全一致）")
    if len(unit) > 200:
        raise InvalidInput("UNIT_TOO_LONG", f"单位名称有 {len(unit)} 个字符，最长 200 个")
    return unit


def add_user(session: Session, acting: str | None, name: str, role: str, password: str | None = None,
             unit: str | None = None) -> User:
    """Add a user with an initial password, or give an existing user one more role.

    The very first user of a new database needs no login and must be the administrator; every later
    change needs a logged-in administrator. The administrator role is never combined with another, nor the
    agent role (an agent is bound to ``unit``)."""
    from claims.workflow.auth import hash_password

    check_name(name)
    if role not in ROLES:
        raise InvalidInput("ROLE_UNKNOWN", f"角色“{role}”不存在，可用：{'、'.join(ROLES)}")
    unit = check_unit(role, unit)
    first = may_add(session, acting, name, role)
    user = session.get(User, name)
    if user is not None:
        held = roles_of(user)
        if role in held:
            raise Refusal("USER_EXISTS", f"用户“{name}”已有角色 {_short(role)}")
        if role == "admin" or "admin" in held:
            raise Refusal("ADMIN_SEPARATE", f"管理员不能兼任业务角色：请为“{name}”另建一个用户")
        if role == "agent" or "agent" in held:
            raise Refusal("AGENT_SEPARATE", f"基层工会代办员只办理本单位的事，不兼任其他角色：请为“{name}”另建一个用户")
        user.role = ",".join(sorted(held | {role}))
        action = "user.role"
    else:
        if password is None:
            raise InvalidInput("PASSWORD_REQUIRED", f"新用户“{name}”需要初始密码")
        check_password(name, password)
        user = User(name=name, role=role, created_at=audit_log.now(), password_hash=hash_password(password),
                    disabled=False, failed_logins=0, unit=unit)
        session.add(user)
        action = "user.add"
    session.flush()
    audit_log.append(session, acting or name, action, "user", name,
                     {"role": role, "roles": user.role, **({"unit": unit} if unit else {})},
                     "初始化数据库的第一个用户（管理员）" if first else "")
    return user


def _managed(session: Session, acting: str | None, name: str) -> User:
    require(session, acting, "manage_users")
    user = session.get(User, name)
    if user is None:
        raise Refusal("USER_UNKNOWN", f"用户“{name}”不存在")
    return user


def set_password(session: Session, acting: str, name: str, new_password: str) -> None:
    """A user changes their own password (after proving the old one at the door), or the administrator
    resets someone's: that also lifts a lockout."""
    from claims.workflow.auth import hash_password

    user = session.get(User, name) if acting == name else _managed(session, acting, name)
    if user is None:
        raise Refusal("USER_UNKNOWN", f"用户“{name}”不存在")
    check_password(name, new_password)
    user.password_hash = hash_password(new_password)
    user.failed_logins, user.locked_until = 0, None
    audit_log.append(session, acting, "user.passwd", "user", name, {"by_admin": acting != name})


def set_disabled(session: Session, acting: str, name: str, disabled: bool, now: datetime | None = None) -> User:
    """Disable (every login of the user ends at once) or enable a user. Nobody disables themselves."""
    user = _managed(session, acting, name)
    if name == acting:
        raise Refusal("USER_SELF", "不能停用自己")
    if user.disabled == disabled:
        raise Refusal("USER_UNCHANGED", f"用户“{name}”已经{'停用' if disabled else '启用'}")
    user.disabled = disabled
    if disabled:
        session.execute(update(LoginSession).where(LoginSession.user_name == name, LoginSession.ended_at.is_(None))
                        .values(ended_at=now or audit_log.now()))
    else:
        user.failed_logins, user.locked_until = 0, None
    audit_log.append(session, acting, "user.disable" if disabled else "user.enable", "user", name, {})
    return user


def list_users(session: Session, acting: str) -> list[User]:
    """Every user; an agent sees only themselves (who acts for other units is not theirs to know)."""
    user = require(session, acting, "list_users")
    if "agent" in roles_of(user):
        return [user]
    return list(session.scalars(select(User).order_by(User.created_at, User.name)))
