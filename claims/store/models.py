"""Tables of the service-center workflow (SQLAlchemy 2, typed ORM). Money is integer fen, never a float."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(64))  # comma-separated: clerk, reviewer, finance, auditor | admin | agent
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)  # argon2id, never the password
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failures since the last success
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(200), nullable=True)  # an agent's unit (members.unit); else None


class LoginSession(Base):
    """A proven login: the CLI's token or the browser's session cookie. Only the token's SHA-256 is kept."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    door: Mapped[str] = mapped_column(String(8))  # cli | web
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AccessRecord(Base):
    """One view of one member's personal data by staff: who, whom, when, what (PIPL)."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    what: Mapped[str] = mapped_column(String(40))  # explain | export.payouts | page.claim ...
    detail: Mapped[str] = mapped_column(String(200), default="")


class ImportRecord(Base):
    """One imported file: who, when, what, and its content hash."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    resubmitted: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    imported_at: Mapped[datetime] = mapped_column(DateTime)


class MemberRow(Base):
    __tablename__ = "members"
    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18))
    gender: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(200), index=True)
    bank_name: Mapped[str] = mapped_column(String(200), default="")
    bank_account: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    row_sha256: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))


class EnrollmentRow(Base):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("member_id", "item", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.member_id"), index=True)
    item: Mapped[str] = mapped_column(String(40))
    period: Mapped[int] = mapped_column(Integer)
    shares: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    row_sha256: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))


class ClaimRow(Base):
    """The current version of a claim; earlier versions are kept in claim_versions."""

    __tablename__ = "claims"
    claim_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # optimistic lock and claim version
    state: Mapped[str] = mapped_column(String(16), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.member_id"), index=True)
    event_type: Mapped[str] = mapped_column(String(24))
    admission_date: Mapped[date] = mapped_column(Date)
    discharge_date: Mapped[date] = mapped_column(Date, index=True)
    diagnosis_date: Mapped[date] = mapped_column(Date)
    hospital_level: Mapped[int] = mapped_column(Integer)
    diagnoses: Mapped[str] = mapped_column(String(400))
    procedures: Mapped[str] = mapped_column(String(400), default="")
    total_cost_fen: Mapped[int] = mapped_column(BigInteger)
    insurance_paid_fen: Mapped[int] = mapped_column(BigInteger)
    self_pay_in_scope_fen: Mapped[int] = mapped_column(BigInteger)
    self_pay_out_of_scope_fen: Mapped[int] = mapped_column(BigInteger)
    invoice_no: Mapped[str] = mapped_column(String(60), default="")
    submitted_date: Mapped[date] = mapped_column(Date)
    row_sha256: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), nullable=True, index=True)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.name"), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    __mapper_args__ = {"version_id_col": version}


class ClaimVersion(Base):
    """Every version a claim has had: what it was, who changed it, and why."""

    __tablename__ = "claim_versions"
    __table_args__ = (UniqueConstraint("claim_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    fields_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PolicyVersion(Base):
    """One published text of the scheme's rules: 待批准 (pending) until a second person approves or rejects it.

    ``from_period``: the first period it is meant for (null: every period until a later version takes over)."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # the version number
    scheme_code: Mapped[str] = mapped_column(String(40), index=True)
    scheme_name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    from_period: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected
    note: Mapped[str] = mapped_column(Text, default="")
    published_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    published_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.name"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Batch(Base):
    """A calculation run: everything needed to re-run it is stored with it."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # regular | correction
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(16))  # calculated | paid
    policy_name: Mapped[str] = mapped_column(String(255))
    policy_text: Mapped[str] = mapped_column(Text)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    # the approved version the batch calculated with (null: a file named with --policy that is no approved version)
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"), nullable=True)
    engine_version: Mapped[str] = mapped_column(String(32))
    inputs_json: Mapped[str] = mapped_column(Text)
    ledger_before_json: Mapped[str] = mapped_column(Text)
    claim_count: Mapped[int] = mapped_column(Integer)
    line_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    # the ledger event at which the batch was calculated: its ledger_before is the ledger of that moment
    ledger_event: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a correction's checker


class ResultLineRow(Base):
    __tablename__ = "result_lines"
    __table_args__ = (Index("ix_result_lines_claim_current", "claim_id", "current"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"))
    claim_version: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    period: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(40))
    benefit: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)  # order within the batch's output
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32), default="")
    explanation_json: Mapped[str] = mapped_column(Text)
    # what the line adds to the ledger when its claim is settled (null when it failed a check)
    counted: Mapped[bool] = mapped_column(Boolean)
    base_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lump_scope: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ends_cover: Mapped[bool] = mapped_column(Boolean, default=False)
    current: Mapped[bool] = mapped_column(Boolean, default=True)  # false once a correction superseded it
    # live from / until these ledger events (SPEC §6: calculated and not returned or refused, approved, or paid)
    live_from: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    live_until: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    generation: Mapped[int | None] = mapped_column(Integer, nullable=True)  # of the ledger head it was checked against


class Adjustment(Base):
    """A top-up (补发) or recovery (追回) found by a correction; paid lines are never changed in place."""

    __tablename__ = "adjustments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)  # the correction batch
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"))
    member_id: Mapped[str] = mapped_column(String(40))
    period: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(40))
    benefit: Mapped[str] = mapped_column(String(40))
    before_fen: Mapped[int] = mapped_column(BigInteger)
    after_fen: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # top_up | recovery
    # open → paid (top-up) / recovered (recovery); a rejected correction's adjustments → void
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    settled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    settled_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class LedgerHead(Base):
    """One row per member and period: the row that deciding or calculating for them locks (PostgreSQL)."""

    __tablename__ = "ledger_heads"
    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class LedgerEvent(Base):
    """The ledger's clock: every time result lines start or stop being live, one event."""

    __tablename__ = "ledger_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(String(80))
    user_name: Mapped[str] = mapped_column(String(64))


class ExportRecord(Base):
    """Every payout workbook, bank file and recovery list written: what, how many, how much, who, when."""

    __tablename__ = "exports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # payouts | bank | recoveries
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    reexport: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ExportItem(Base):
    """One claim (or adjustment) an export paid: which lines (their batch) and how much."""

    __tablename__ = "export_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[str] = mapped_column(String(40), index=True)
    lines_batch_id: Mapped[int] = mapped_column(Integer)  # the batch whose current lines were paid
    adjustment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class AuditEntry(Base):
    """Append-only log of every change: who, when, what, why; each entry chained to the one before by an
    HMAC-SHA256 (column ``sha256``) under the key named by ``key_id``, kept outside the database."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    details_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16), default="")  # "" = written before the chain was keyed


class AuditHead(Base):
    """One row: the lock every audit-log append takes first, so concurrent appends get consecutive seqs."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appends: Mapped[int] = mapped_column(BigInteger, default=0)


class SettlementRow(Base):
    """A claim made from the medical-insurance settlement list (免申即享): its claim id is the ``setl_id``."""

    __tablename__ = "settlements"
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"), primary_key=True)
    psn_name: Mapped[str] = mapped_column(String(100), default="")
    name_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    reversed_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), nullable=True)
    reversal: Mapped[str] = mapped_column(String(16), default="")  # "" | withdrawn | recovery


class BankTransfer(Base):
    """One line of a bank file as sent, and what the bank answered: sent → succeeded | failed."""

    __tablename__ = "bank_transfers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    file_no: Mapped[int] = mapped_column(Integer)  # the batch's 1st, 2nd … bank file
    template: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(100))
    account: Mapped[str] = mapped_column(String(40))
    bank_name: Mapped[str] = mapped_column(String(200), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    claim_ids: Mapped[str] = mapped_column(Text)  # JSON list
    status: Mapped[str] = mapped_column(String(16))  # sent | succeeded | failed
    reason: Mapped[str] = mapped_column(Text, default="")
    exported_by: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(DateTime)
    reconciled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class LookupAttempt(Base):
    """One try at the member lookup (/lookup), kept 15 minutes for its rate limit: the client's address and
    the ID number typed are stored only as SHA-256, never in clear."""

    __tablename__ = "lookup_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    client_sha256: Mapped[str] = mapped_column(String(64), index=True)
    id_number_sha256: Mapped[str] = mapped_column(String(64), index=True)
    matched: Mapped[bool] = mapped_column(Boolean)
