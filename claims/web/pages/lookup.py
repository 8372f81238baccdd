"""/lookup: a member looks up their own claims without an account (claims/workflow/lookup.py decides)."""

from __future__ import annotations

import asyncio
import secrets
import time

from starlette.requests import Request
from starlette.routing import Route

from claims.web.guard import LOOKUP_COOKIE
from claims.web.site import Site

# every answer to a lookup takes at least this long, so how long it took does not tell which field was wrong
FLOOR_SECONDS = 0.25


def routes(site: Site) -> list[Route]:
    def form_page(request: Request, status: int = 200, **context):
        # the double-submit token: kept while the browser has one, so a second tab does not break the first
        from claims.workflow.lookup import TRIES, WINDOW

        token = request.cookies.get(LOOKUP_COOKIE) or secrets.token_urlsafe(32)
        response = site.page(request, "lookup.html", status, lookup_csrf=token, tries=TRIES,
                             minutes=WINDOW.seconds // 60, **context)
        response.set_cookie(LOOKUP_COOKIE, token, httponly=True, samesite="strict", path="/lookup",
                            secure=request.url.scheme == "https")
        return response

    async def lookup_get(request: Request):
        return form_page(request)

    async def lookup_post(request: Request):
        from claims.workflow.lookup import member_lookup

        started = time.monotonic()
        form = await request.form()
        fields = [str(form.get(name, ""))[:64] for name in ("id_number", "claim_id", "phone_last4")]
        client = request.client.host if request.client else ""
        outcome, refusal = await site.work(member_lookup, *fields, client, site.now())
        await asyncio.sleep(max(0.0, FLOOR_SECONDS - (time.monotonic() - started)))
        refusal = refusal or outcome.refusal
        if refusal is not None:
            return form_page(request, 429 if refusal.code == "LOOKUP_LIMITED" else 200, error=refusal)
        return form_page(request, found=outcome)

    return [Route("/lookup", lookup_get, methods=["GET"]), Route("/lookup", lookup_post, methods=["POST"])]
