"""What every page module shares: the store, the clock, one unit of work per request, and the page renderer.

A page module (``claims/web/pages/*.py``) exposes ``routes(site) -> list[Route]``; its handlers parse the
request, call one workflow function through ``site.work`` and render a template through ``site.page``. No
business rules live in a page module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from claims.store.database import Store
from claims.workflow.errors import Refusal

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


@dataclass
class Site:
    store: Store
    now: Callable[[], datetime]

    def work(self, function, *args):
        """``function(session, *args)`` as one unit of work in a worker thread, committed whole; returns
        ``(result, None)`` or ``(None, refusal)`` (a Refusal is rolled back and comes back as a value)."""
        def run():
            with self.store.session() as session:
                try:
                    return function(session, *args), None
                except Refusal as refusal:
                    session.rollback()
                    return None, refusal
        return run_in_threadpool(run)

    def page(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        """A template rendered with who is logged in (``user``, ``roles``: the set of role codes) and the
        CSRF token every form must carry."""
        context.setdefault("user", request.state.user)
        context.setdefault("roles", request.state.roles)
        context.setdefault("csrf", request.state.csrf)
        return templates.TemplateResponse(request, template, context, status_code=status)

    def refused(self, request: Request, refusal: Refusal, title: str = "无法办理") -> HTMLResponse:
        """A refusal as a page: the Chinese message with its code; 404 for what does not exist (or may not
        be seen), 403 for a role or rule refusal."""
        status = 404 if refusal.code.endswith("_UNKNOWN") else 403
        return self.page(request, "message.html", status, title=title,
                         message=f"{refusal.message} [{refusal.code}]")
