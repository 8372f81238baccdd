"""What-if: recalculate a period's claims under a draft policy and under the current one, from the same
inputs and the same ledger of the other live claims, and report the cost side by side — per item, per
unit, in total — with the contribution income per item and the members whose amounts change.
Nothing stored is changed: the simulation only reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.engine import Ledger, calculate
from claims.engine.periods import period_end, period_start
from claims.money import ZERO
from claims.policy import LoadedPolicy
from claims.policy.schema import Policy
from claims.store.models import ClaimRow, EnrollmentRow, MemberRow
from claims.store.records import claim_of, enrollment_of, member_of
from claims.workflow.batches import Inputs, settled_ledger
from claims.workflow.errors import Refusal
from claims.workflow.policy_versions import loaded_of, version_in_force
from claims.workflow.users import require

COUNTED_STATES = ("calculated", "approved", "paid")


@dataclass
class Side:
    name: str
    per_item: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    per_unit: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    contributions: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    item_names: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.per_item.values(), ZERO)

    @property
    def income(self) -> Decimal:
        return sum(self.contributions.values(), ZERO)


@dataclass(slots=True)  # one per member whose amount changes: hundreds of thousands in a large period
class MemberChange:
    member_id: str
    name: str
    unit: str
    current: Decimal
    draft: Decimal

    @property
    def difference(self) -> Decimal:
        return self.draft - self.current


@dataclass
class WhatIf:
    period: int
    claims: int
    current: Side
    draft: Side
    items: list[str]
    units: list[str]
    changes: list[MemberChange]


def current_policy(session: Session, period: int) -> LoadedPolicy:
    """The approved policy version in force for the period."""
    version = version_in_force(session, period)
    if version is None:
        raise Refusal("POLICY_NOT_APPROVED", f"{period} 年度没有已批准的策略版本，无法确定现行策略；"
                                             "请先发布并批准策略，或用 --current 指定现行策略文件")
    return loaded_of(version)


MEMBERS_PER_PARTITION = 5_000  # ~7,500 claims: a range's records and both sides' lines stay under ~100 MB


def simulate(session: Session, draft: LoadedPolicy, period: int, user: str,
             current: LoadedPolicy | None = None, members_per_partition: int = MEMBERS_PER_PARTITION) -> WhatIf:
    """Both policies over the period's counted claims, member range by member range: members are independent
    once every duplicate invoice's first holder is known (settled here for all of them first), so memory
    holds one range's records and lines at a time, whatever the size of the period."""
    require(session, user, "read")
    current = current or current_policy(session, period)
    policy = current.policy
    counted = (ClaimRow.state.in_(COUNTED_STATES), ClaimRow.discharge_date >= period_start(policy, period),
               ClaimRow.discharge_date <= period_end(policy, period))
    claims = session.scalar(select(func.count()).select_from(ClaimRow).where(*counted))
    if not claims:
        raise Refusal("WHATIF_NO_CLAIMS", f"{period} 年度没有已计算的申请可供模拟")
    excluded = session.scalars(select(ClaimRow.claim_id).where(*counted)).all()
    ledger = settled_ledger(session, exclude=excluded)
    del excluded
    holders = _invoice_holders(session, counted, ledger)
    member_ids = session.scalars(select(ClaimRow.member_id).where(*counted).distinct()
                                 .order_by(ClaimRow.member_id)).all()
    sides = [(loaded, Side(f"{label}：{loaded.policy.scheme.name}（{loaded.name}）"), {})
             for loaded, label in ((current, "现行"), (draft, "草案"))]
    changes = []
    for start in range(0, len(member_ids), members_per_partition):
        # a range of member ids in the database's own order: the same comparison selects the rows
        low, high = member_ids[start], member_ids[min(start + members_per_partition, len(member_ids)) - 1]
        inputs = _range_inputs(session, counted, low, high)
        mine = inputs.members
        part = Ledger(periods={k: v for k, v in ledger.periods.items() if k[0] in mine},
                      lifetime_lump={m: v for m, v in ledger.lifetime_lump.items() if m in mine}, invoices=holders)
        for loaded, side, per_member in sides:
            result = calculate(loaded.policy, inputs.members, inputs.enrollments, inputs.claims, part, explain=False)
            for line in result.lines:
                if line.item and line.period == period:
                    side.per_item[line.item] += line.amount
                    side.per_unit[mine[line.member_id].unit] += line.amount
                    per_member[line.member_id] = per_member.get(line.member_id, ZERO) + line.amount
        (_, _, before), (_, _, after) = sides
        for member_id in set(before) | set(after):
            old, new = before.get(member_id, ZERO), after.get(member_id, ZERO)
            if old != new:
                member = mine[member_id]
                changes.append(MemberChange(member_id, member.name, member.unit, old, new))
        before.clear()
        after.clear()
    shares = session.execute(select(EnrollmentRow.item, func.sum(EnrollmentRow.shares))
                             .where(EnrollmentRow.period == period).group_by(EnrollmentRow.item)).all()
    for loaded, side, _ in sides:
        side.item_names = {item.code: item.name for item in loaded.policy.items}
        _contributions(side, loaded.policy, shares, period)
    current_side, draft_side = sides[0][1], sides[1][1]
    items = list(dict.fromkeys([*current_side.item_names, *draft_side.item_names]))
    units = sorted(set(current_side.per_unit) | set(draft_side.per_unit))
    changes.sort(key=lambda c: (-abs(c.difference), c.member_id))
    return WhatIf(period, claims, current_side, draft_side, items, units, changes)


def _invoice_holders(session: Session, counted: tuple, ledger: Ledger) -> dict[str, str]:
    """Each invoice's first holder: the live lines' holders, then — for the invoices that more than one of
    the simulated claims carry — the first of those in evaluation order (discharge date, claim id)."""
    holders = dict(ledger.invoices)
    shared = (select(ClaimRow.invoice_no).where(*counted, ClaimRow.invoice_no.is_not(None), ClaimRow.invoice_no != "")
              .group_by(ClaimRow.invoice_no).having(func.count() > 1))
    rows = session.execute(select(ClaimRow.discharge_date, ClaimRow.claim_id, ClaimRow.invoice_no)
                           .where(*counted, ClaimRow.invoice_no.in_(shared))).all()
    for _, claim_id, invoice in sorted(rows):
        holders.setdefault(invoice, claim_id)
    return holders


def _range_inputs(session: Session, counted: tuple, low: str, high: str) -> Inputs:
    """The counted claims of the members from ``low`` to ``high``, those members, and all their enrollments
    (coverage chains span periods)."""
    claims = [claim_of(row) for row in session.execute(
        select(*ClaimRow.__table__.c).where(*counted, ClaimRow.member_id >= low, ClaimRow.member_id <= high))]
    members = {row.member_id: member_of(row) for row in session.execute(
        select(*MemberRow.__table__.c).where(MemberRow.member_id >= low, MemberRow.member_id <= high))}
    enrollments = [enrollment_of(row) for row in session.execute(
        select(*EnrollmentRow.__table__.c).where(EnrollmentRow.member_id >= low, EnrollmentRow.member_id <= high))]
    return Inputs(members, enrollments, claims)


def _contributions(side: Side, policy: Policy, shares: list[tuple[str, int]], period: int) -> None:
    """Contribution income of the period per item: the item's contribution times every share enrolled."""
    start = period_start(policy, period)
    for code, total in shares:
        item = policy.item(code)
        if item is not None:
            side.contributions[item.code] += item.contribution.at(start) * total


def describe(whatif: WhatIf, top: int = 10) -> list[str]:
    from exports.words import table

    c, d = whatif.current, whatif.draft
    name = {**c.item_names, **d.item_names}
    out = [f"{whatif.period} 年度 {whatif.claims} 件申请的模拟（不改变任何已保存的数据）",
           f"  {c.name}", f"  {d.name}", "", "按保障项目（元）"]
    rows = [[name[item], f"{c.per_item.get(item, ZERO):,.2f}", f"{d.per_item.get(item, ZERO):,.2f}",
             f"{d.per_item.get(item, ZERO) - c.per_item.get(item, ZERO):+,.2f}",
             f"{c.contributions.get(item, ZERO):,.2f}", f"{d.contributions.get(item, ZERO):,.2f}"] for item in whatif.items]
    rows.append(["合计", f"{c.total:,.2f}", f"{d.total:,.2f}", f"{d.total - c.total:+,.2f}", f"{c.income:,.2f}",
                 f"{d.income:,.2f}"])
    out += ["  " + line for line in table(["保障项目", "现行补助", "草案补助", "差额", "现行缴费收入", "草案缴费收入"],
                                          rows, "<>>>>>")]
    out += ["", "按单位（元）"]
    rows = [[unit, f"{c.per_unit.get(unit, ZERO):,.2f}", f"{d.per_unit.get(unit, ZERO):,.2f}",
             f"{d.per_unit.get(unit, ZERO) - c.per_unit.get(unit, ZERO):+,.2f}"] for unit in whatif.units]
    out += ["  " + line for line in table(["单位", "现行补助", "草案补助", "差额"], rows, "<>>>")]
    out += ["", f"金额有变化的会员：{len(whatif.changes)} 人" + (f"（变化最大的 {top} 人）" if len(whatif.changes) > top else "")]
    rows = [[m.member_id, m.name, m.unit, f"{m.current:,.2f}", f"{m.draft:,.2f}", f"{m.difference:+,.2f}"]
            for m in whatif.changes[:top]]
    if rows:
        out += ["  " + line for line in table(["会员编号", "姓名", "单位", "现行", "草案", "差额"], rows, "<<<>>>")]
    return out


def write_whatif(whatif: WhatIf, out) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from exports.safety import atomic_output, page_setup, safe_cells

    c, d = whatif.current, whatif.draft
    name = {**c.item_names, **d.item_names}
    book = Workbook()
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")

    def sheet(title, header, rows, widths, money_from):
        ws = book.create_sheet(title)
        ws.append(safe_cells(ws, header))
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for row in rows:
            ws.append(safe_cells(ws, row))  # names and units from outside: text, never a formula
            for cell in ws[ws.max_row][money_from:]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00;[Red]-#,##0.00"
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(1, index).column_letter].width = width
        ws.freeze_panes = "A2"
        page_setup(ws, 1)
        return ws

    intro = book.active
    intro.title = "说明"
    for line in (f"{whatif.period} 年度补助成本模拟", "", f"现行策略：{c.name}", f"草案策略：{d.name}",
                 f"参与模拟的申请：{whatif.claims} 件（该年度已计算、已通过或已支付的申请）",
                 "两种策略用同样的申请、参保和其他年度已结算的累计额计算；本表不改变任何已保存的数据。",
                 "差额 = 草案 − 现行；正数表示草案多支出，负数（红色）表示少支出。",
                 f"补助合计：现行 {c.total:,.2f} 元，草案 {d.total:,.2f} 元，差额 {d.total - c.total:+,.2f} 元。",
                 f"缴费收入合计：现行 {c.income:,.2f} 元，草案 {d.income:,.2f} 元。"):
        intro.append(safe_cells(intro, [line]))
    page_setup(intro, None)
    intro["A1"].font = Font(bold=True, size=14)
    intro.column_dimensions["A"].width = 100
    item_rows = [[name[i], c.per_item.get(i, ZERO), d.per_item.get(i, ZERO), d.per_item.get(i, ZERO) - c.per_item.get(i, ZERO),
                  c.contributions.get(i, ZERO), d.contributions.get(i, ZERO)] for i in whatif.items]
    item_rows.append(["合计", c.total, d.total, d.total - c.total, c.income, d.income])
    sheet("按保障项目", ["保障项目", "现行补助（元）", "草案补助（元）", "差额（元）", "现行缴费收入（元）", "草案缴费收入（元）"],
          item_rows, [34, 18, 18, 16, 20, 20], 1)
    unit_rows = [[u, c.per_unit.get(u, ZERO), d.per_unit.get(u, ZERO), d.per_unit.get(u, ZERO) - c.per_unit.get(u, ZERO)]
                 for u in whatif.units]
    unit_rows.append(["合计", c.total, d.total, d.total - c.total])
    sheet("按单位", ["单位", "现行补助（元）", "草案补助（元）", "差额（元）"], unit_rows, [34, 18, 18, 16], 1)
    sheet("会员变化", ["会员编号", "姓名", "单位", "现行（元）", "草案（元）", "差额（元）"],
          [[m.member_id, m.name, m.unit, m.current, m.draft, m.difference] for m in whatif.changes],
          [12, 10, 30, 16, 16, 16], 3)
    with atomic_output(out) as temporary:
        book.save(temporary)
