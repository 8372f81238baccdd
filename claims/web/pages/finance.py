"""/finance: the payout workbook, the bank file and the letters to download (the same functions as
``claims export payouts|bank|letters``, recorded the same way), mark paid (``claims batch mark-paid``) and the
bank's return file reconciled (``claims bank reconcile``).

Files are written into a temporary folder, streamed with their Chinese name, and the folder deleted once sent.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from claims.problems import ProblemsFound
from claims.web.site import Site

MEDIA = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".csv": "text/csv",
         ".pdf": "application/pdf", ".zip": "application/zip"}
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
RESULT_SUFFIXES = (".csv", ".xlsx")


def attachment(path: Path, name: str, folder: Path) -> FileResponse:
    """``path`` sent as a download named ``name`` (RFC 5987 ``filename*`` for the Chinese name, an ASCII
    fallback for old clients); ``folder`` is deleted once the file has been sent."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "download"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"),
                        headers={"content-disposition": disposition},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _batch_id(request: Request) -> int | None:
    text = request.path_params["batch_id"]
    return int(text) if text.isdigit() and len(text) < 10 else None


def routes(site: Site) -> list[Route]:
    async def overview(request: Request, status: int = 200, **context):
        from claims.workflow.finance import finance_batches
        from exports.bank import available, load_template

        batches, refusal = await site.work(finance_batches, request.state.user)
        if refusal is not None:
            return site.refused(request, refusal)
        templates = [(key, load_template(key).name) for key in available()]
        return site.page(request, "finance.html", status, batches=batches, templates=templates,
                         encodings=ENCODINGS, **context)

    async def run(function, *args):
        """``function(session, *args)``; located input problems (a bank file that does not match) come back
        as a value too, with nothing written."""
        def unit_of_work(session):
            try:
                return function(session, *args)
            except ProblemsFound as found:
                session.rollback()
                return found
        return await site.work(unit_of_work)

    async def download(request: Request, kind: str):
        from exports.bank import available, load_template
        from exports.commands import export_bank, export_letters, export_payouts
        from exports.fonts import FontError

        batch_id = _batch_id(request)
        if batch_id is None:
            return await overview(request, 404, error="没有这个批次。[BATCH_UNKNOWN]")
        form = await request.form()
        reexport = form.get("reexport") == "1"
        user, said = request.state.user, []
        if kind == "payouts":
            call = (export_payouts, batch_id, f"发放表-批次{batch_id}.xlsx", user, form.get("by_unit") == "1",
                    said.append, reexport)
        elif kind == "bank":
            template, encoding = str(form.get("template", "generic")), str(form.get("encoding", "")) or None
            if template not in available() or (encoding is not None and encoding not in ENCODINGS):
                return await overview(request, 400, error="银行模板或编码无效，请从列表中选择。[BANK_TEMPLATE_UNKNOWN]")
            suffix = load_template(template).format  # the template decides CSV or XLSX
            call = (export_bank, batch_id, f"银行文件-批次{batch_id}.{suffix}", user, said.append, template, encoding,
                    reexport)
        else:
            unit = str(form.get("unit", "")).strip() or None
            call = (export_letters, batch_id, _safe(f"补助通知书-批次{batch_id}{'-' + unit if unit else ''}.pdf"), user,
                    None, said.append, 1, unit)
        folder = Path(tempfile.mkdtemp(prefix="claims-finance-"))
        try:
            written, refusal = await run(call[0], call[1], folder / call[2], *call[3:])
        except FontError as error:
            written, refusal = ProblemsFound([]), None
            said.append(str(error))
        if refusal is not None or isinstance(written, ProblemsFound):
            shutil.rmtree(folder, ignore_errors=True)
            if refusal is not None:
                return await overview(request, 403, error=f"{on_the_page(refusal.message)} [{refusal.code}]")
            return await overview(request, 400, error="未能生成文件：",
                                  problems=[str(p) for p in written.problems] + said)
        files = written.files
        if len(files) > 1:  # a bank file split by the bank's size limit: all parts in one zip
            bundle = folder / f"{files[0].stem}.zip"
            with zipfile.ZipFile(bundle, "w") as archive:
                for path in files:
                    archive.write(path, path.name)
            files = [bundle]
        return attachment(files[0], files[0].name, folder)

    async def payouts(request: Request):
        return await download(request, "payouts")

    async def bank(request: Request):
        return await download(request, "bank")

    async def letters(request: Request):
        return await download(request, "letters")

    async def paid(request: Request):
        from claims.workflow.payouts import mark_paid

        batch_id = _batch_id(request)
        if batch_id is None:
            return await overview(request, 404, error="没有这个批次。[BATCH_UNKNOWN]")
        done, refusal = await site.work(mark_paid, batch_id, request.state.user)
        if refusal is not None:
            return await overview(request, 403, error=f"{on_the_page(refusal.message)} [{refusal.code}]")
        count, total = done
        return await overview(request, notice=f"批次 {batch_id}：{count} 件申请标记为已支付，合计 {total:,.2f} 元。")

    async def reconcile(request: Request):
        from claims.workflow.bank import reconcile as reconcile_file

        batch_id = _batch_id(request)
        if batch_id is None:
            return await overview(request, 404, error="没有这个批次。[BATCH_UNKNOWN]")
        form = await request.form()
        upload = form.get("result_file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await overview(request, 400, error="请选择银行回盘文件（CSV 或 XLSX）。[BANK_RESULT_MISSING]")
        name = _safe(Path(upload.filename).name)
        if Path(name).suffix.lower() not in RESULT_SUFFIXES:
            return await overview(request, 400, error=f"{name}：回盘文件应为 CSV 或 XLSX。[BANK_RESULT_FORMAT]")
        folder = Path(tempfile.mkdtemp(prefix="claims-reconcile-"))
        try:
            path = folder / name
            path.write_bytes(await upload.read())
            done, refusal = await run(lambda s: _summary(reconcile_file(s, batch_id, path, request.state.user)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if refusal is not None:
            return await overview(request, 403, error=f"{on_the_page(refusal.message)} [{refusal.code}]")
        if isinstance(done, ProblemsFound):
            return await overview(request, 400, error="回盘文件与发出的转账不符，整份未处理：",
                                  problems=[str(p).replace(str(folder) + "/", "") for p in done.problems])
        return await overview(request, reconciled=done)

    async def listing(request: Request):
        return await overview(request)

    return [Route("/finance", listing, methods=["GET"]),
            Route("/finance/{batch_id}/payouts", payouts, methods=["POST"]),
            Route("/finance/{batch_id}/bank", bank, methods=["POST"]),
            Route("/finance/{batch_id}/letters", letters, methods=["POST"]),
            Route("/finance/{batch_id}/paid", paid, methods=["POST"]),
            Route("/finance/{batch_id}/reconcile", reconcile, methods=["POST"])]


def _safe(name: str) -> str:
    """A file name without path separators or characters file systems refuse."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .") or "file"


def _summary(done) -> dict:
    """The reconciliation as the page shows it, read inside the unit of work; accounts masked."""
    from claims.money import from_fen
    from claims.workflow.access import mask_account

    def yuan(transfers) -> str:
        return f"{from_fen(sum(t.amount_fen for t in transfers)):,.2f}"

    return {"batch": done.batch.id, "sent": len(done.sent), "sent_total": yuan(done.sent),
            "succeeded": len(done.succeeded), "succeeded_total": yuan(done.succeeded),
            "failed": [{"name": t.name, "account": mask_account(t.account), "amount": yuan([t]), "reason": t.reason}
                       for t in done.failed], "failed_total": yuan(done.failed),
            "claims_paid": done.claims_paid, "batch_paid": done.batch_paid}


# The workflow's refusals are worded for both doors; where one names a command-line option or command, the
# finance page names its own control instead (the clerk reading it has no terminal).
PAGE_WORDS = (("请加 --reexport", "请勾选“重新导出”后再下载"), ("（请 claims bank reconcile）", "（请在下方上传回盘文件对账）"),
              ("请用 claims bank reconcile 对账", "请在下方上传回盘文件对账"), ("claims bank reconcile", "上传回盘文件对账"),
              ("--reexport", "“重新导出”"))


def on_the_page(message: str) -> str:
    for command_words, page_words in PAGE_WORDS:
        message = message.replace(command_words, page_words)
    return message
