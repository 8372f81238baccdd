"""The 工作台 (/): batches by state, and what waits for each of the user's roles; /claim?id=… (the old
address of a claim's page) sends on to /claims/{id}."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from claims.web.site import Site


def routes(site: Site) -> list[Route]:
    work, page = site.work, site.page

    async def workbench(request: Request):
        from claims.workflow.queue import waiting_for
        from claims.workflow.users import role_names, roles_of

        def data(session):
            from claims.store.models import User

            user = session.get(User, request.state.user)
            can_read = bool(roles_of(user) & {"clerk", "reviewer", "finance", "auditor"})
            return role_names(user), waiting_for(session, user.name) if can_read else None

        (roles, waiting), _ = await work(data)
        return page(request, "workbench.html", role_names=roles, waiting=waiting)

    async def old_claim_page(request: Request):
        claim_id = request.query_params.get("id", "").strip()
        return RedirectResponse(f"/claims/{quote(claim_id, safe='')}", status_code=303)

    return [Route("/", workbench), Route("/claim", old_claim_page)]
