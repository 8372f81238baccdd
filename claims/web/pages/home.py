"""The 工作台 (/) and a claim's page (/claim?id=…)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from claims.web.site import Site


def routes(site: Site) -> list[Route]:
    work, page = site.work, site.page

    async def workbench(request: Request):
        from claims.workflow.users import role_names, roles_of
        from claims.workflow.views import batch_rows

        def data(session):
            from claims.store.models import User

            user = session.get(User, request.state.user)
            can_read = bool(roles_of(user) & {"clerk", "reviewer", "finance", "auditor"})
            return role_names(user), batch_rows(session, user.name) if can_read else None

        (roles, batches), _ = await work(data)
        return page(request, "workbench.html", role_names=roles, batches=batches)

    async def claim_page(request: Request):
        from claims.workflow.access import masked_member
        from claims.workflow.views import claim_explanation

        claim_id = request.query_params.get("id", "").strip()

        def data(session):
            text = claim_explanation(session, request.state.user, claim_id, "page.claim")
            return text, masked_member(session, claim_id)

        found, refusal = await work(data)
        if refusal is not None:
            return page(request, "claim.html", 404 if refusal.code == "CLAIM_UNKNOWN" else 403,
                        claim_id=claim_id, refusal=refusal)
        text, member = found
        return page(request, "claim.html", claim_id=claim_id, text=text, member=member)

    return [Route("/", workbench), Route("/claim", claim_page)]
