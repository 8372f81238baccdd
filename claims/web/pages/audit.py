"""/audit: the auditor re-runs a batch and sees the differences, verifies the audit log, downloads a batch's
re-run bundle and lists who viewed whose personal data — the same functions as ``claims audit rerun``,
``verify-log``, ``bundle`` and ``access`` (claims/workflow/auditor.py). Read-only: the only POST is the bundle
download, which adds to the access log and the audit log as its CLI command does."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Route

from claims.web.pages.finance import attachment
from claims.web.site import Site


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def routes(site: Site) -> list[Route]:
    async def overview(request: Request, status: int = 200, **context):
        from claims.workflow.auditor import auditor_batches

        batches, refusal = await site.work(auditor_batches, request.state.user)
        if refusal is not None:
            return site.refused(request, refusal)
        return site.page(request, "audit.html", status, batches=batches, **context)

    async def home(request: Request):
        return await overview(request)

    async def rerun(request: Request):
        from claims import ENGINE_VERSION
        from claims.workflow.auditor import rerun_batch

        batch_id = _number(request.query_params.get("batch", ""))
        if batch_id is None:
            return await overview(request, 400, error="请给出批次号。[BATCH_UNKNOWN]")
        done, refusal = await site.work(rerun_batch, batch_id, request.state.user)
        if refusal is not None:
            if refusal.code == "ROLE_REFUSED":
                return site.refused(request, refusal)
            return await overview(request, 404 if refusal.code.endswith("_UNKNOWN") else 403,
                                  error=f"{refusal.message} [{refusal.code}]")
        return await overview(request, report=done.report, differences=done.differences, engine=ENGINE_VERSION)

    async def verify(request: Request):
        from claims.workflow.auditor import verify_log

        found, refusal = await site.work(verify_log, request.state.user)
        if refusal is not None:
            return site.refused(request, refusal)
        count, breaks, head = found
        return await overview(request, verified={"count": count, "breaks": breaks, "head": head})

    async def access(request: Request):
        from claims.workflow.auditor import access_list

        member_id = request.query_params.get("member", "").strip()[:40]
        found, refusal = await site.work(access_list, request.state.user, member_id)
        if refusal is not None:
            return site.refused(request, refusal)
        total, rows = found
        return await overview(request, access={"member": member_id, "total": total, "rows": rows})

    async def bundle(request: Request):
        from claims.workflow.auditor import auditor_bundle

        batch_id = _number(request.path_params["batch_id"])
        if batch_id is None:
            return await overview(request, 404, error="没有这个批次。[BATCH_UNKNOWN]")
        folder = Path(tempfile.mkdtemp(prefix="claims-audit-"))
        out = folder / f"复算包-批次{batch_id}.zip"
        _, refusal = await site.work(auditor_bundle, batch_id, out, request.state.user)
        if refusal is not None:
            shutil.rmtree(folder, ignore_errors=True)
            if refusal.code == "ROLE_REFUSED":
                return site.refused(request, refusal)
            return await overview(request, 403, error=f"{refusal.message} [{refusal.code}]")
        return attachment(out, out.name, folder)

    return [Route("/audit", home, methods=["GET"]),
            Route("/audit/rerun", rerun, methods=["GET"]),
            Route("/audit/verify", verify, methods=["GET"]),
            Route("/audit/access", access, methods=["GET"]),
            Route("/audit/{batch_id}/bundle", bundle, methods=["POST"])]
