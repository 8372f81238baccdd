"""The one gate every web request passes: security headers, who is logged in, anonymous visitors sent to
/login, sessions ended after 30 idle minutes, and CSRF checked on every state-changing request.

- Session cookie ``claims_session``: a random token (the database keeps only its SHA-256), HttpOnly,
  SameSite=Strict, Secure when the request came over HTTPS (behind a reverse proxy: uvicorn reads
  X-Forwarded-Proto).
- CSRF: every POST/PUT/PATCH/DELETE must carry the token in the form field ``csrf_token`` or the header
  ``X-CSRF-Token``. For a logged-in user it is derived from the session token (an attacker who cannot read
  the HttpOnly cookie cannot compute it); for the login form it must equal the ``claims_login`` cookie
  (double submit), and likewise for the member lookup (/lookup, public) the ``claims_lookup`` cookie.
- Bodies are read whole for that check: at most 1 MiB, or 20 MiB for ``multipart/form-data`` (file uploads);
  a larger body is answered 413 ``UPLOAD_TOO_LARGE`` in Chinese before anything is parsed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from claims.store.database import Store
from claims.store.models import User
from claims.workflow.auth import session_user
from claims.workflow.errors import Refusal
from claims.workflow.users import roles_of

SESSION_COOKIE = "claims_session"
LOGIN_COOKIE = "claims_login"
LOOKUP_COOKIE = "claims_lookup"
PUBLIC = ("/healthz", "/login", "/lookup", "/static/", "/favicon.ico")
# forms anyone may post without a session: CSRF by double submit (the form's token must equal this cookie)
DOUBLE_SUBMIT = {"/login": LOGIN_COOKIE, "/lookup": LOOKUP_COOKIE}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_FORM_BYTES = 1 << 20
MAX_UPLOAD_BYTES = 20 << 20  # multipart/form-data (file uploads: a unit's members or claims file)

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def csrf_for(session_token: str) -> str:
    return hashlib.sha256(f"csrf|{session_token}".encode()).hexdigest()


def _public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


class Guard:
    def __init__(self, app, store: Store, clock: Callable[[], datetime]):
        self.app, self.store, self.clock = app, store, clock

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        request = Request(scope)
        token = request.cookies.get(SESSION_COOKIE)
        user, roles, why = None, frozenset(), None
        if token:
            user, roles, why = await run_in_threadpool(self._who, token)
        state = scope.setdefault("state", {})
        state.update(user=user, roles=roles, token=token if user else None, csrf=csrf_for(token) if user else None)
        path = scope["path"]
        if user is None and not _public(path):
            target = "/login?expired=1" if why == "SESSION_IDLE" else "/login"
            response = RedirectResponse(target, status_code=303)
            if token:
                response.delete_cookie(SESSION_COOKIE, path="/")
            return await response(scope, receive, send_with_headers)
        if scope["method"] not in SAFE_METHODS:
            limit = _body_limit(scope)
            body, given = await self._csrf_given(scope, receive, limit)
            if body is None:
                response = HTMLResponse(_too_large(limit), status_code=413)
                return await response(scope, receive, send_with_headers)
            expected = request.cookies.get(DOUBLE_SUBMIT[path]) if path in DOUBLE_SUBMIT else state["csrf"]
            if not expected or not given or not hmac.compare_digest(expected, given):
                response = HTMLResponse(_REFUSED, status_code=403)
                return await response(scope, receive, send_with_headers)
            receive = _replay(body, receive)
        await self.app(scope, receive, send_with_headers)

    def _who(self, token: str) -> tuple[str | None, frozenset[str], str | None]:
        """(user name, role codes, None) for a live session, else (None, ∅, why)."""
        with self.store.session() as session:  # committed even when refused: an idle session is ended
            try:
                name = session_user(session, token, "web", self.clock())
                return name, frozenset(roles_of(session.get(User, name))), None
            except Refusal as refusal:
                return None, frozenset(), refusal.code

    async def _csrf_given(self, scope, receive, limit: int) -> tuple[bytes | None, str | None]:
        """(body, token given); body None when it is larger than ``limit`` (nothing more is read)."""
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None, None
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None, None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        header = Headers(scope=scope).get("x-csrf-token")
        if header:
            return body, header
        form = await Request(scope, _replay(body)).form()
        value = form.get("csrf_token")
        return body, value if isinstance(value, str) else None


def _body_limit(scope) -> int:
    content_type = Headers(scope=scope).get("content-type", "")
    return MAX_UPLOAD_BYTES if content_type.lower().startswith("multipart/form-data") else MAX_FORM_BYTES


def _too_large(limit: int) -> str:
    return ("""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>文件太大</title>
<link rel="stylesheet" href="/static/app.css"></head><body><main class="card">
<h1>文件太大</h1><p>提交的内容超过 """ + f"{limit >> 20}" + """ MB，未做任何处理。"""
            """请把文件按批拆小后分别上传，或交由服务中心经办员导入。[UPLOAD_TOO_LARGE]</p>
<p><a href="/">返回工作台</a></p></main></body></html>""")


def _replay(body: bytes, then=None):
    """A ``receive`` that gives the body already read, then waits on the real one (``then``): a response
    streaming a file listens for the client's disconnect meanwhile, and must not be told of one at once."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return await then() if then is not None else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


_REFUSED = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>请求被拒绝</title>
<link rel="stylesheet" href="/static/app.css"></head><body><main class="card">
<h1>请求被拒绝</h1><p>页面已过期或请求不是从本系统的页面发出的，为安全起见未做任何处理。[CSRF_REFUSED]</p>
<p><a href="/">返回工作台</a></p></main></body></html>"""
