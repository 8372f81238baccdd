"""What every command shares: who acts (proven by a login), one unit of work on the database, and how
refusals and problems are printed.

Who acts is decided here and only here: ``_work`` reads the login tokens this OS user keeps (``claims
login``), asks the database whether the token is live, and puts the proven name in ``ctx.obj["user"]``.
``--user`` / ``CLAIMS_USER`` only choose among the logins already made; they never name an identity on
their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from claims.problems import ProblemsFound

TOKEN_FILE_ENV = "CLAIMS_TOKEN_FILE"


class Refused(click.ClickException):
    exit_code = 2


def _refuse(refusal) -> None:
    code = getattr(refusal, "exit_code", 1)
    click.echo(f"{'拒绝' if code == 1 else '输入无效'}：{refusal.message} [{refusal.code}]", err=True)
    sys.exit(code)


def display_width(text: str) -> int:
    """Columns a terminal gives the text: a Chinese character takes two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def aligned_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns aligned by display width, so Chinese text lines up in a terminal."""
    table = [header, *rows]
    widths = [max(display_width(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell + " " * (widths[i] - display_width(cell)) for i, cell in enumerate(row)).rstrip()
                     for row in table)


def token_file() -> Path:
    """Where this OS user's logins are kept: $CLAIMS_TOKEN_FILE, or ~/.claims/logins.json."""
    configured = os.environ.get(TOKEN_FILE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".claims" / "logins.json"


def database_key(url: str) -> str:
    """Logins are kept per database; a relative SQLite path means the file it names from here."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        url = "sqlite:///" + str(Path(url[len("sqlite:///"):]).resolve())
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def read_logins() -> list[dict]:
    """The saved logins; refuses a file that another OS user could read or write."""
    from claims.workflow.errors import Refusal

    path = token_file()
    try:
        info = path.stat()
    except FileNotFoundError:
        return []
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise Refusal("TOKEN_FILE_INSECURE",
                      f"登录凭据文件 {path} 的权限是 {stat.filemode(info.st_mode)}，其他人也能读取，已拒绝使用。"
                      f"请删除它（rm {path}）后重新 claims login")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [entry for entry in data["logins"] if {"db", "user", "token"} <= set(entry)]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Refusal("TOKEN_FILE_BROKEN", f"登录凭据文件 {path} 无法读取（{type(error).__name__}），"
                      f"请删除它后重新 claims login") from None


def write_logins(logins: list[dict]) -> None:
    """Written whole (temporary file + rename), readable only by this OS user (0600, folder 0700)."""
    path = token_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".logins-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.chmod(temporary, 0o600)
            json.dump({"logins": logins}, handle, ensure_ascii=False, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remember_login(url: str, user: str, token: str, expires_at: datetime) -> None:
    key = database_key(url)
    logins = [e for e in read_logins() if not (e["db"] == key and e["user"] == user)]
    logins.append({"db": key, "user": user, "token": token, "expires_at": expires_at.isoformat()})
    write_logins(logins)


def chosen_login(url: str, wanted: str | None) -> dict | None:
    """The login a command acts with: the one for ``wanted`` (--user / CLAIMS_USER), else the latest."""
    from claims.workflow.errors import Refusal

    key = database_key(url)
    logins = [e for e in read_logins() if e["db"] == key]
    if wanted:
        for entry in logins:
            if entry["user"] == wanted:
                return entry
        raise Refusal("LOGIN_REQUIRED", f"用户“{wanted}”没有在本机登录这个数据库，请先登录：claims login {wanted}")
    return logins[-1] if logins else None


def forget_login(url: str, user: str) -> None:
    key = database_key(url)
    write_logins([e for e in read_logins() if not (e["db"] == key and e["user"] == user)])


def _authenticate(ctx: click.Context, session) -> None:
    """The one place where the CLI learns who acts: a live login token, or nobody."""
    from claims.workflow.auth import session_user

    entry = chosen_login(ctx.obj["db"], ctx.obj.get("chosen_user"))
    ctx.obj["user"] = session_user(session, entry["token"], "cli") if entry else None


@contextmanager
def _work(ctx: click.Context, initialised: bool = True, authenticate: bool = True):
    """One unit of work on the database, as the logged-in user: committed whole or not at all;
    refusals exit 1, bad input 2. Only ``claims login`` itself works without authenticating."""
    from claims.bulk import collector_paused
    from claims.engine import ValueNotInForce
    from claims.store.database import NotInitialised, Store, check_initialised
    from claims.workflow.errors import Refusal

    store = Store(ctx.obj["db"])
    try:
        if initialised:
            check_initialised(store.engine)
        with collector_paused(), store.session() as session:
            if initialised and authenticate:
                _authenticate(ctx, session)
            yield session
    except NotInitialised as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    except Refusal as refusal:
        _refuse(refusal)
    except ProblemsFound as found:
        _fail(found)
    except ValueNotInForce as error:  # a dated value with nothing in force for the period: complete the policy
        click.echo(f"[POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    finally:
        store.dispose()


def _fail(problems: ProblemsFound) -> None:
    for problem in problems.problems:
        click.echo(str(problem), err=True)
    click.echo(f"共 {len(problems.problems)} 个问题，未做任何处理。", err=True)
    sys.exit(2)
