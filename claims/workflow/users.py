"""Users and roles: who may do what (SPEC §6). Every command names its user with --user / CLAIMS_USER."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.store.models import User
from claims.workflow import audit_log
from claims.workflow.errors import Refusal

ROLES = {
    "clerk": "经办员（导入、计算）",
    "reviewer": "审核员（审核决定）",
    "finance": "财务（导出、标记已支付）",
    "auditor": "审计（只读、复算）",
}

# action → roles allowed; reading and re-running are open to every role
PERMISSIONS = {
    "import": {"clerk"},
    "calculate": {"clerk"},
    "correct": {"clerk"},
    "decide": {"reviewer"},
    "export": {"finance"},
    "mark_paid": {"finance"},
    "manage_users": {"clerk"},
    "publish_policy": {"clerk"},
    "approve_policy": {"reviewer"},
    "read": set(ROLES),
    "audit": set(ROLES),
}


def require(session: Session, user_name: str | None, action: str) -> User:
    if not user_name:
        raise Refusal("USER_REQUIRED", "请用 --user 或环境变量 CLAIMS_USER 指明操作人")
    user = session.get(User, user_name)
    if user is None:
        raise Refusal("USER_UNKNOWN", f"用户“{user_name}”不存在，请先用 claims users add 添加")
    allowed = PERMISSIONS[action]
    if not allowed & roles_of(user):
        roles = "、".join(_short(r) for r in sorted(allowed))
        held = "、".join(_short(r) for r in sorted(roles_of(user)))
        raise Refusal("ROLE_REFUSED", f"用户“{user_name}”的角色是{held}，此操作只允许{roles}执行")
    return user


def roles_of(user: User) -> set[str]:
    return set(user.role.split(","))


def _short(role: str) -> str:
    return ROLES[role].split("（")[0]


def add_user(session: Session, acting: str | None, name: str, role: str) -> User:
    """The very first user may be added by anyone (to start a fresh database); after that, by a clerk.
    Adding an existing user gives them one more role (a small center's clerk may also review — the
    four-eyes rule still stops them approving what they imported)."""
    if role not in ROLES:
        raise Refusal("ROLE_UNKNOWN", f"角色“{role}”不存在，可用：{'、'.join(ROLES)}")
    first = session.scalar(select(func.count()).select_from(User)) == 0
    if not first:
        require(session, acting, "manage_users")
    user = session.get(User, name)
    if user is not None:
        if role in roles_of(user):
            raise Refusal("USER_EXISTS", f"用户“{name}”已有角色 {_short(role)}")
        user.role = ",".join(sorted(roles_of(user) | {role}))
    else:
        user = User(name=name, role=role, created_at=audit_log.now())
        session.add(user)
    session.flush()
    audit_log.append(session, acting or name, "user.add", "user", name, {"role": role, "roles": user.role},
                     "初始化数据库的第一个用户" if first else "")
    return user
