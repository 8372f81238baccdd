"""The web application: thin routes over the workflow functions; the guard proves who acts."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from importlib import import_module
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from claims.store.database import Store
from claims.web.guard import LOGIN_COOKIE, SESSION_COOKIE, Guard
from claims.web.site import Site
from claims.workflow import audit_log
from claims.workflow.auth import WEB_IDLE, WEB_LIFETIME
from claims.workflow.errors import Refusal

HERE = Path(__file__).resolve().parent

# One module per area of work; each exposes ``routes(site)``. Add a new area here.
PAGES = (
    "claims.web.pages.home",
    "claims.web.pages.review",
    "claims.web.pages.finance",
    "claims.web.pages.audit",
    "claims.web.pages.lookup",
    "claims.web.pages.imports",
)


def create_app(db_url: str, clock: Callable[[], datetime] | None = None) -> Guard:
    """The ASGI application for ``db_url``; ``clock`` (UTC, naive) is injected by tests."""
    store = Store(db_url)
    now = clock or audit_log.now
    site = Site(store, now)
    work, page = site.work, site.page

    async def healthz(request: Request):
        return PlainTextResponse("ok")

    def login_page(request: Request, status: int = 200, error: Refusal | None = None, name: str = ""):
        # kept while the browser has one: a second GET /login (a favicon request redirected here, a second
        # tab) must not invalidate the form already shown
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        notice = ""
        if request.query_params.get("expired"):
            notice = f"超过 {WEB_IDLE.seconds // 60} 分钟没有操作，已自动退出，请重新登录。"
        elif request.query_params.get("bye"):
            notice = "已退出登录。"
        response = page(request, "login.html", status, login_csrf=token, error=error, notice=notice, name=name)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                            secure=request.url.scheme == "https")
        return response

    async def login_get(request: Request):
        if request.state.user:
            return RedirectResponse("/", status_code=303)
        return login_page(request)

    async def login_post(request: Request):
        from claims.workflow.auth import login

        form = await request.form()
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        outcome, refusal = await work(lambda s: login(s, name, password, "web", now()))
        refusal = refusal or (outcome.refusal if outcome else None)
        if refusal is not None:
            return login_page(request, 423 if refusal.code == "LOGIN_LOCKED" else 401, refusal, name)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, outcome.token, httponly=True, samesite="strict", path="/",
                            max_age=int(WEB_LIFETIME.total_seconds()), secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    async def logout_post(request: Request):
        from claims.workflow.auth import logout

        await work(lambda s: logout(s, request.state.token, now()))
        response = RedirectResponse("/login?bye=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def not_found(request: Request, exc):
        return page(request, "message.html", 404, title="页面不存在", message="没有这个页面。[NOT_FOUND]")

    async def wrong_method(request: Request, exc):
        return page(request, "message.html", 405, title="不能这样打开",
                    message="这个地址只接受页面上的按钮提交，不能直接打开。[METHOD_NOT_ALLOWED]")

    async def server_error(request: Request, exc):
        return HTMLResponse("<!doctype html><meta charset=utf-8><title>出错了</title>"
                            "<p>服务器内部错误，已记录，请稍后再试或联系管理员。[SERVER_ERROR]</p>", status_code=500)

    @asynccontextmanager
    async def lifespan(app):
        yield
        store.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/login", login_get, methods=["GET"]),
            Route("/login", login_post, methods=["POST"]),
            Route("/logout", logout_post, methods=["POST"]),
            *[route for module in PAGES for route in import_module(module).routes(site)],
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        exception_handlers={404: not_found, 405: wrong_method, 500: server_error},
        lifespan=lifespan,
    )
    return Guard(app, store, now)
