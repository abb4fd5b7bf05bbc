"""Health check-ins: one validation and one submission path for the form, the file and the API.

Values arrive as strings (form, CSV, Excel) or JSON values (API). `parse_check_in` turns them
into a `CheckInInput`, or raises a `ValidationError` saying what is wrong with which field, in
words a reseller understands. `submit_check_in` stores a report as history: the first report
for an (account, period) is version 1; a different report for the same period is the next
version and supersedes it; an identical one changes nothing.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.reporting.cadence import Period, SegmentRule, default_period, period_containing
from portal.core.clock import utcnow
from portal.models import (
    Account,
    ApiToken,
    CheckIn,
    CheckInRisk,
    Feature,
    RenewalLikelihood,
    ReportSource,
    RiskType,
    Sentiment,
    Severity,
    User,
    VocKind,
)
from portal.core.validation import Checks, blank, normalised, parse_date
from portal.reporting.voc import new_items as new_voc_items

# Words accepted for coded values besides the codes themselves, so a reseller can type what
# its spreadsheet says in English or Japanese.
ALIASES: dict[type[enum.Enum], dict[str, str]] = {
    Sentiment: {"g": "green", "緑": "green", "良好": "green", "y": "yellow", "黄": "yellow", "黄色": "yellow",
                "注意": "yellow", "r": "red", "赤": "red", "危険": "red"},
    RenewalLikelihood: {"高い": "likely", "見込み高": "likely", "更新見込み": "likely", "不明": "unsure", "未定": "unsure",
                        "低い": "unlikely", "見込み低": "unlikely"},
    RiskType: {"budget": "budget_cut", "予算削減": "budget_cut", "予算": "budget_cut", "champion": "champion_left",
               "推進者の離脱": "champion_left", "担当者離脱": "champion_left", "競合": "competitor", "低利用": "low_usage",
               "利用低迷": "low_usage", "機能不足": "product_gap", "その他": "other"},
    Severity: {"低": "low", "中": "medium", "高": "high"},
    VocKind: {"要望": "request", "不満": "complaint", "苦情": "complaint", "称賛": "praise", "評価": "praise"},
}
MAX_RISKS = 10
MAX_VOC = 10


@dataclass(frozen=True)
class RiskInput:
    type: RiskType
    severity: Severity
    note: str | None = None


@dataclass(frozen=True)
class VocInput:
    kind: VocKind
    text: str
    product_area: str | None = None


@dataclass(frozen=True)
class CheckInInput:
    period: Period
    sentiment: Sentiment
    active_users: int | None = None
    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    open_tickets: int = 0
    open_escalations: int = 0
    sentiment_reason: str | None = None
    outcome_progress: int | None = None
    outcome_note: str | None = None
    renewal_likelihood: RenewalLikelihood | None = None
    expansion_jpy: int = 0
    note: str | None = None
    feature_keys: frozenset[str] = frozenset()
    risks: tuple[RiskInput, ...] = ()
    voc: tuple[VocInput, ...] = ()

    def comparable(self) -> tuple:
        return (
            self.period.start, self.active_users, self.nps, self.csat, self.ces, self.open_tickets,
            self.open_escalations, self.sentiment, self.sentiment_reason, self.outcome_progress, self.outcome_note,
            self.renewal_likelihood, self.expansion_jpy, self.note, self.feature_keys, self.risks, self.voc,
        )


def parse_period(raw: Any, rule: SegmentRule, today: date, contract_start: date | None) -> tuple[Period | None, Any]:
    """The reporting period a value names; (None, message) when it names none we accept."""
    if blank(raw):
        return default_period(rule, today), None
    day = parse_date(raw)
    if day is None:
        text = normalised(raw)
        match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})月?(?:/\d+)?", text)
        if match and 1 <= int(match[2]) <= 12:
            day = date(int(match[1]), int(match[2]), 1)
    if day is None:
        return None, _l("must be a month like 2026-10 or a date in the period")
    period = period_containing(day, rule.months)
    if period.start > today:
        return None, _l("is in the future: report for the current period or an earlier one")
    if contract_start and period.end < contract_start:
        return None, _l("ends before the contract started (%(start)s)", start=contract_start.isoformat())
    return period, None


def parse_check_in(
    values: Mapping[str, Any],
    *,
    rule: SegmentRule,
    today: date,
    seats: int | None,
    contract_start: date | None,
    features: list[Feature],
) -> CheckInInput:
    """Validate one check-in. Keys: the field names of CheckInInput plus ``period``,
    ``feature_<key>`` flags, ``risks`` and ``voc`` (lists of mappings) or the flat
    ``risk_type``/``risk_severity``/``risk_note`` and ``voc_kind``/``voc_text``/``voc_product_area``."""
    c = Checks(ALIASES)
    period, period_error = parse_period(values.get("period"), rule, today, contract_start)
    if period_error is not None:
        c.fail("period", period_error, values.get("period"))
    active_users = c.integer(values, "active_users")
    if active_users is not None and seats and active_users > seats:
        c.fail("active_users", _l("is more than the account's %(seats)s seats; update the seats first", seats=seats), active_users)
    nps = c.integer(values, "nps", 0, 10)
    csat = c.integer(values, "csat", 1, 5)
    ces = c.integer(values, "ces", 1, 7)
    open_tickets = c.integer(values, "open_tickets", default=0)
    open_escalations = c.integer(values, "open_escalations", default=0)
    sentiment = c.choice(values, "sentiment", Sentiment, required=True)
    sentiment_reason = c.text(values, "sentiment_reason")
    if sentiment in (Sentiment.YELLOW, Sentiment.RED) and not sentiment_reason:
        c.fail("sentiment_reason", _l("is required when the sentiment is yellow or red: say why"))
    outcome_progress = c.integer(values, "outcome_progress", 0, 100)
    outcome_note = c.text(values, "outcome_note")
    renewal_likelihood = c.choice(values, "renewal_likelihood", RenewalLikelihood)
    expansion_jpy = c.integer(values, "expansion_jpy", 0, 10**13, default=0)
    note = c.text(values, "note")

    if "feature_keys" in values:
        known = {f.key for f in features}
        keys = values.get("feature_keys") or []
        well_formed = isinstance(keys, (list, tuple, set, frozenset)) and all(isinstance(k, str) for k in keys)
        unknown = [k for k in keys if k not in known] if well_formed else []
        if not well_formed or unknown:
            c.fail("feature_keys", _l("must list features from: %(options)s", options=", ".join(sorted(known))), unknown or keys)
            keys = []
        feature_keys = frozenset(keys)
    else:
        feature_keys = frozenset(f.key for f in features if c.flag(values, f"feature_{f.key}"))

    risks = _sub_records(c, values, "risks", "risk_", ("type", "severity", "note"), MAX_RISKS, _parse_risk)
    voc = _sub_records(c, values, "voc", "voc_", ("kind", "text", "product_area"), MAX_VOC, _parse_voc)

    c.done()
    assert period is not None  # parse_period gave an error otherwise, and done() raised it
    return CheckInInput(
        period=period, sentiment=sentiment, active_users=active_users, nps=nps, csat=csat, ces=ces,
        open_tickets=open_tickets, open_escalations=open_escalations, sentiment_reason=sentiment_reason,
        outcome_progress=outcome_progress, outcome_note=outcome_note, renewal_likelihood=renewal_likelihood,
        expansion_jpy=expansion_jpy, note=note, feature_keys=feature_keys, risks=tuple(risks), voc=tuple(voc),
    )


def _sub_records(c: Checks, values: Mapping, list_key: str, flat_prefix: str, names: tuple[str, ...], limit: int, parse) -> list:
    """Risks and VoC items come as a list (API, form: risks[0].type) or one set of flat columns (file: risk_type)."""
    listed = values.get(list_key)
    if listed is None:
        flat = {name: values.get(flat_prefix + name) for name in names}
        if all(blank(v) for v in flat.values()):
            return []
        item = parse(c, flat, flat_prefix)
        return [item] if item is not None else []
    if not isinstance(listed, (list, tuple)):
        c.fail(list_key, _l("must be a list"))
        return []
    if len(listed) > limit:
        c.fail(list_key, _l("at most %(max)s items", max=limit))
        return []
    parsed = []
    for index, record in enumerate(listed):
        if not isinstance(record, Mapping):
            c.fail(f"{list_key}[{index}]", _l("must be an object"))
            continue
        if all(blank(v) for v in record.values()):
            continue
        item = parse(c, record, f"{list_key}[{index}].")
        if item is not None:
            parsed.append(item)
    return parsed


def _prefixed(record: Mapping, prefix: str) -> dict:
    return {f"{prefix}{k}": v for k, v in record.items()}


def _parse_risk(c: Checks, record: Mapping, prefix: str) -> RiskInput | None:
    values = _prefixed(record, prefix)
    before = len(c.errors)
    risk_type = c.choice(values, f"{prefix}type", RiskType, required=True)
    severity = c.choice(values, f"{prefix}severity", Severity, required=True)
    note = c.text(values, f"{prefix}note")
    return RiskInput(risk_type, severity, note) if len(c.errors) == before else None


def _parse_voc(c: Checks, record: Mapping, prefix: str) -> VocInput | None:
    values = _prefixed(record, prefix)
    before = len(c.errors)
    kind = c.choice(values, f"{prefix}kind", VocKind, required=True)
    text = c.text(values, f"{prefix}text", required=True)
    area = c.text(values, f"{prefix}product_area", max_length=100)
    if len(c.errors) != before:
        return None
    assert text is not None  # required: a missing text is one of the errors
    return VocInput(kind, text, area)


# --- storing ---------------------------------------------------------------------------------


def current_check_in(session: Session, account_id: int, period_start: date) -> CheckIn | None:
    """The version in force for an account and period (the highest version number)."""
    return session.scalar(
        select(CheckIn)
        .options(selectinload(CheckIn.features), selectinload(CheckIn.risks), selectinload(CheckIn.voc_items))
        .where(CheckIn.account_id == account_id, CheckIn.period_start == period_start)
        .order_by(CheckIn.version.desc())
        .limit(1)
    )


def as_input(check_in: CheckIn, period: Period) -> CheckInInput:
    """A stored check-in in the shape of an input, to compare with a new one or refill a form."""
    return CheckInInput(
        period=period, sentiment=check_in.sentiment, active_users=check_in.active_users, nps=check_in.nps,
        csat=check_in.csat, ces=check_in.ces, open_tickets=check_in.open_tickets,
        open_escalations=check_in.open_escalations, sentiment_reason=check_in.sentiment_reason,
        outcome_progress=check_in.outcome_progress, outcome_note=check_in.outcome_note,
        renewal_likelihood=check_in.renewal_likelihood, expansion_jpy=check_in.expansion_jpy, note=check_in.note,
        feature_keys=frozenset(f.key for f in check_in.features),
        risks=tuple(RiskInput(r.type, r.severity, r.note) for r in check_in.risks),
        voc=tuple(VocInput(v.kind, v.text, v.product_area) for v in check_in.voc_items),
    )


class Outcome(str, enum.Enum):
    CREATED = "created"  # first report for the period
    CORRECTED = "corrected"  # a new version superseding the one in force
    UNCHANGED = "unchanged"  # identical to the version in force: nothing written


@dataclass
class SubmitResult:
    check_in: CheckIn
    outcome: Outcome
    changed_fields: list[str] = field(default_factory=list)


def plan_submission(session: Session, account: Account, data: CheckInInput) -> tuple[Outcome, CheckIn | None]:
    existing = current_check_in(session, account.id, data.period.start)
    if existing is None:
        return Outcome.CREATED, None
    if as_input(existing, data.period).comparable() == data.comparable():
        return Outcome.UNCHANGED, existing
    return Outcome.CORRECTED, existing


def submit_check_in(
    session: Session,
    account: Account,
    data: CheckInInput,
    *,
    source: ReportSource,
    user: User | None = None,
    token: ApiToken | None = None,
) -> SubmitResult:
    """Add the report (flushed, not committed: the caller commits the whole unit of work)."""
    outcome, existing = plan_submission(session, account, data)
    if outcome is Outcome.UNCHANGED:
        assert existing is not None  # unchanged means compared with the version in force
        return SubmitResult(existing, outcome)
    features = list(session.scalars(select(Feature).where(Feature.key.in_(data.feature_keys)))) if data.feature_keys else []
    check_in = CheckIn(
        account_id=account.id, partner_id=account.partner_id, period_start=data.period.start,
        version=(existing.version + 1) if existing else 1, source=source, submitted_at=utcnow(),
        submitted_by_id=user.id if user else None, api_token_id=token.id if token else None,
        active_users=data.active_users, nps=data.nps, csat=data.csat, ces=data.ces, open_tickets=data.open_tickets,
        open_escalations=data.open_escalations, sentiment=data.sentiment, sentiment_reason=data.sentiment_reason,
        outcome_progress=data.outcome_progress, outcome_note=data.outcome_note,
        renewal_likelihood=data.renewal_likelihood, expansion_jpy=data.expansion_jpy, note=data.note,
        features=features,
        risks=[CheckInRisk(type=r.type, severity=r.severity, note=r.note) for r in data.risks],
    )
    check_in.voc_items = new_voc_items(session, account, data.voc, existing)
    session.add(check_in)
    session.flush()
    changed = changed_fields(as_input(existing, data.period), data) if existing else []
    return SubmitResult(check_in, outcome, changed)


def changed_fields(old: CheckInInput, new: CheckInInput) -> list[str]:
    names = [f for f in CheckInInput.__dataclass_fields__ if f != "period"]
    return [n for n in names if getattr(old, n) != getattr(new, n)]
