"""Batches and review (经办员、审核员): the batch list and batch creation (a background run with a progress
page), a batch's claims, its review queue (filters, a seeded sample), a claim's page and its decision."""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from claims.money import parse_decimal
from claims.web.site import Site
from claims.workflow.errors import Refusal

DECISION_LABELS = {"approve": "通过", "return": "退回", "refuse": "不予补助"}


@dataclass
class Job:
    """One batch calculation running in a thread of this server: its owner, what it said, how it ended."""

    owner: str
    period: int
    messages: list[str] = field(default_factory=list)
    batch_id: int | None = None
    refusal: Refusal | None = None
    failed: bool = False
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> int:
        return int((self.finished or time.monotonic()) - self.started)

    @property
    def running(self) -> bool:
        return self.batch_id is None and self.refusal is None and not self.failed


JOBS: dict[str, Job] = {}
JOBS_LOCK = threading.Lock()


def _int(text: str | None, default: int | None = None) -> int | None:
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"\d{1,9}", text) else default


def _filters(request: Request, waiting: bool):
    """The queue's filters from the query string, or a Refusal naming the bad field."""
    from claims.workflow.queue import Filters

    q = request.query_params
    minimum = None
    if q.get("min", "").strip():
        minimum = parse_decimal(q["min"])
        if minimum is None or minimum < 0:
            raise Refusal("AMOUNT_INVALID", f"“补助不低于”应为不小于 0 的金额（元），如 5000 或 5000.00，收到“{q['min'][:20]}”")
    sample = _int(q.get("sample")) if waiting else 0
    if waiting and q.get("sample", "").strip() and (sample is None or not 0 < sample <= 100):
        raise Refusal("SAMPLE_PERCENT", "抽样比例应为 1 到 100 之间的整数（百分比）")
    return Filters(waiting=waiting, reasons=tuple(r for r in q.getlist("reason") if r), flagged=q.get("flagged") == "1",
                   unit=q.get("unit", "").strip(), min_amount=minimum, sample=sample or 0,
                   seed=_int(q.get("seed")), page=_int(q.get("page"), 1) or 1)


def _query(request: Request, **changes) -> str:
    """The current query string with ``changes`` (a page link keeps the filters and the seed)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, str(v)) for k, v in changes.items() if v is not None]
    return urlencode(items)


def routes(site: Site) -> list[Route]:
    work, page = site.work, site.page

    async def batches(request: Request):
        from claims.workflow.queue import batch_list

        found, refusal = await work(batch_list, request.state.user, _int(request.query_params.get("page"), 1) or 1)
        if refusal is not None:
            return site.refused(request, refusal)
        rows, number, pages = found
        return page(request, "batches.html", batches=rows, page=number, pages=pages, error=None, period="", claim_ids="")

    async def batch_create(request: Request):
        from claims.workflow.users import require

        form = await request.form()
        user = request.state.user
        period_text, claim_text = str(form.get("period", "")).strip(), str(form.get("claim_ids", ""))
        _, refusal = await work(require, user, "calculate")  # refused here, before any thread starts
        period = _int(period_text)
        if refusal is None and (period is None or not 1900 <= period <= 2999):
            refusal = Refusal("PERIOD_INVALID", f"互助期（年度）应为四位年份，如 2025，收到“{period_text[:20]}”")
        if refusal is not None:
            from claims.workflow.queue import batch_list

            found, _ = await work(batch_list, user, 1)
            rows, number, pages = found or ([], 1, 1)
            return page(request, "batches.html", 403 if refusal.code == "ROLE_REFUSED" else 400, batches=rows,
                        page=number, pages=pages, error=refusal, period=period_text, claim_ids=claim_text)
        claim_ids = [c for c in re.split(r"[\s,，、;；]+", claim_text) if c]
        job_id = secrets.token_urlsafe(12)
        job = Job(user, period)
        with JOBS_LOCK:
            for old in [k for k, j in JOBS.items() if j.finished and time.monotonic() - j.finished > 3600]:
                del JOBS[old]  # an hour after it ended the batch list says the rest
            JOBS[job_id] = job
        threading.Thread(target=_run, args=(site, job, period, claim_ids), daemon=True,
                         name=f"batch-{job_id}").start()
        return RedirectResponse(f"/batches/jobs/{job_id}", status_code=303)

    async def job_page(request: Request):
        job = JOBS.get(request.path_params["job"])
        if job is None or job.owner != request.state.user:
            return page(request, "message.html", 404, title="没有这个计算任务",
                        message="没有这个计算任务（服务重启后任务记录不保留；请在批次列表中查看）。[JOB_UNKNOWN]")
        if job.batch_id is not None and request.query_params.get("go"):
            return RedirectResponse(f"/batches/{job.batch_id}", status_code=303)
        return page(request, "batch_job.html", job=job, job_id=request.path_params["job"])

    async def batch_page(request: Request, waiting: bool = False):
        from claims.workflow.queue import batch_queue

        batch_id = _int(request.path_params["batch_id"])
        try:
            filters = _filters(request, waiting)
        except Refusal as refusal:
            return page(request, "message.html", 400, title="筛选条件有误", message=f"{refusal.message} [{refusal.code}]")
        if filters.sample and filters.seed is None:  # the address names its seed: reloading draws the same claims
            return RedirectResponse("?" + _query(request, seed=1 + secrets.randbelow(999_999), page=None),
                                    status_code=303)
        found, refusal = await work(batch_queue, request.state.user, batch_id or 0, filters)
        if refusal is not None:
            return site.refused(request, refusal)
        q = request.query_params
        return page(request, "batch.html", queue=found, waiting=waiting, filters=filters,
                    chosen=set(q.getlist("reason")), min_text=q.get("min", ""), sample_text=q.get("sample", ""),
                    link=lambda **changes: "?" + _query(request, **changes))

    async def queue_page(request: Request):
        return await batch_page(request, waiting=True)

    async def claim_page(request: Request, status: int = 200, error: Refusal | None = None, done: str = ""):
        from claims.workflow.queue import claim_detail

        claim_id = request.path_params["claim_id"]
        found, refusal = await work(claim_detail, request.state.user, claim_id)
        if refusal is not None:
            return site.refused(request, refusal, title=f"申请 {claim_id}")
        done = done or DECISION_LABELS.get(request.query_params.get("decided", ""), "")
        return page(request, "claim.html", status, claim=found, error=error, done=done, labels=DECISION_LABELS,
                    back=request.query_params.get("back", ""))

    async def decide_post(request: Request):
        from claims.workflow.decisions import decide

        claim_id = request.path_params["claim_id"]
        form = await request.form()
        decision, note = str(form.get("decision", "")), str(form.get("note", ""))[:2000]
        if decision not in DECISION_LABELS:
            return await claim_page(request, 400, Refusal("DECISION_INVALID", "请选择通过、退回或不予补助"))
        version = _int(str(form.get("version", "")))
        _, refusal = await work(lambda s: decide(s, claim_id, decision, request.state.user, note, version) and None)
        if refusal is not None:
            status = 404 if refusal.code == "CLAIM_UNKNOWN" else 409 if refusal.code in ("CLAIM_CHANGED", "CLAIM_STATE") else 403
            return await claim_page(request, status, refusal)
        return RedirectResponse(f"/claims/{quote(claim_id, safe='')}?decided={decision}", status_code=303)

    return [
        Route("/batches", batches, methods=["GET"]),
        Route("/batches", batch_create, methods=["POST"]),
        Route("/batches/jobs/{job}", job_page),
        Route("/batches/{batch_id}", batch_page),
        Route("/batches/{batch_id}/queue", queue_page),
        Route("/claims/{claim_id}", claim_page, methods=["GET"]),
        Route("/claims/{claim_id}/decide", decide_post, methods=["POST"]),
    ]


def _run(site: Site, job: Job, period: int, claim_ids: list[str]) -> None:
    """The batch calculation, in its own thread and unit of work (a 100,000-claim period takes minutes);
    the progress page reads ``job`` as it goes."""
    import logging

    from claims.workflow.batches import create_batch

    try:
        with site.store.session() as session:
            try:
                batch = create_batch(session, None, period, job.owner, claim_ids=claim_ids or None,
                                     progress=job.messages.append)
                batch_id = batch.id
            except Refusal as refusal:
                session.rollback()
                job.refusal = refusal
                return
        job.messages.append("已保存。")
        job.batch_id = batch_id
    except Exception:  # a traceback is for the server's log, never the page
        logging.getLogger("claims.web").exception("batch calculation failed")
        job.failed = True
    finally:
        job.finished = time.monotonic()
