"""Health check-ins: one validation and one submission path for the form, the file and the API.

Values arrive as strings (form, CSV, Excel) or JSON values (API). `parse_check_in` turns them
into a `CheckInInput`, or raises a `ValidationError` saying what is wrong with which field, in
words a reseller understands. `submit_check_in` stores a report as history: the first report
for an (account, period) is version 1; a different report for the same period is the next
version and supersedes it; an identical one changes nothing.
"""
from __future__ import annotations

import enum
import functools
import re
from dataclasses import astuple, dataclass, field, fields, replace
from datetime import date
from typing import Any, Mapping, Sequence, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, exists, insert, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from portal.reporting.cadence import Period, SegmentRule, default_period, period_containing
from portal.core.clock import utcnow
from portal.core.db import among, insert_many, new_ids, pg_array
from portal.models import (
    Account,
    ApiToken,
    CheckIn,
    CheckInFeature,
    CheckInRisk,
    Feature,
    RenewalLikelihood,
    ReportSource,
    RiskType,
    Sentiment,
    Severity,
    User,
    VocItem,
    VocKind,
    check_in_features,
)
from portal.core.validation import NO, YES, Checks, blank, normalised, parse_date, whole_number
from portal.reporting.voc import area_matcher, voc_item_values

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

# Feature adoption levels and the share of full adoption each stands for.
ADOPTION_LEVELS = {"not_used": 0, "trial": 25, "partly": 50, "fully": 100}
ADOPTION_LABELS = {
    "not_used": _l("Not used"), "trial": _l("Trial"), "partly": _l("Partly used"), "fully": _l("Fully used"),
}
ADOPTION_ALIASES = {
    "not used": "not_used", "unused": "not_used", "none": "not_used", "未使用": "not_used", "使っていない": "not_used",
    "試用": "trial", "試用中": "trial", "トライアル": "trial", "trialing": "trial",
    "partly used": "partly", "partial": "partly", "partially": "partly", "一部": "partly", "一部利用": "partly",
    "一部で利用": "partly", "部分的": "partly",
    "fully used": "fully", "full": "fully", "全面": "fully", "全面利用": "fully", "全社": "fully", "全社利用": "fully",
}


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
    nps: int | None = None  # one customer's answer, 0-10
    nps_score: int | None = None  # a survey's score, -100..100 (one or the other)
    csat: float | None = None  # a survey average, 1.0-5.0
    ces: int | None = None
    open_tickets: int = 0
    open_escalations: int = 0
    sentiment_reason: str | None = None
    outcome_progress: int | None = None
    outcome_note: str | None = None
    renewal_likelihood: RenewalLikelihood | None = None
    expansion_jpy: int = 0
    note: str | None = None
    # (feature key, adoption 0-100) for each feature reported, sorted by key; 0 is "not used".
    features: tuple[tuple[str, int], ...] = ()
    risks: tuple[RiskInput, ...] = ()
    voc: tuple[VocInput, ...] = ()

    @classmethod
    def of(cls, values: Sequence[Any]) -> "CheckInInput":
        """An input from its values in field order, for the 10,000 rows of a file: filled in at
        once rather than through the frozen __init__'s one object.__setattr__ per field (a fifth
        of the time)."""
        made = object.__new__(cls)
        made.__dict__.update(zip(_INPUT_FIELDS, values, strict=True))
        return made

    @property
    def feature_keys(self) -> frozenset[str]:
        """The features in use at all (adoption above zero)."""
        return frozenset(key for key, pct in self.features if pct > 0)

    def to_json(self) -> dict:
        """The input as a JSON object, as plans were stored before to_row (from_json gives it back equal)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "period":
                value = [value.start.isoformat(), value.months]
            elif name in ("features", "risks", "voc"):
                value = [[_plain(v) for v in (item if name == "features" else astuple(item))] for item in value]
            out[name] = _plain(value)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CheckInInput":
        renewal = data.get("renewal_likelihood")
        return cls(**{
            **data, "period": period_containing(date.fromisoformat(data["period"][0]), data["period"][1]),
            "sentiment": Sentiment(data["sentiment"]), "renewal_likelihood": RenewalLikelihood(renewal) if renewal else None,
            "features": tuple((key, pct) for key, pct in data["features"]),
            "risks": tuple(RiskInput(RiskType(t), Severity(s), note) for t, s, note in data["risks"]),
            "voc": tuple(VocInput(VocKind(k), text, area) for k, text, area in data["voc"]),
        })

    def to_row(self) -> list:
        """The input as a compact JSON list, in field order (enums by value, the period as
        [start, months]): what a planned import stores for each of its rows. from_row gives it back equal."""
        return [[self.period.start.isoformat(), self.period.months], self.sentiment.value, self.active_users, self.nps,
                self.nps_score, self.csat, self.ces, self.open_tickets, self.open_escalations, self.sentiment_reason,
                self.outcome_progress, self.outcome_note, self.renewal_likelihood.value if self.renewal_likelihood else None,
                self.expansion_jpy, self.note, [list(pair) for pair in self.features],
                [[r.type.value, r.severity.value, r.note] for r in self.risks],
                [[v.kind.value, v.text, v.product_area] for v in self.voc]]

    @classmethod
    def from_row(cls, data: list, periods: dict | None = None) -> "CheckInInput":
        """The input to_row stored. `periods`: a dict shared by the rows of one plan, so that each
        period is made once (the rows of a file mostly share one)."""
        ((start, months), sentiment, active_users, nps, nps_score, csat, ces, open_tickets, open_escalations, sentiment_reason,
         outcome_progress, outcome_note, renewal, expansion_jpy, note, features, risks, voc) = data
        key = (start, months)
        period = periods.get(key) if periods is not None else None
        if period is None:
            period = period_containing(date.fromisoformat(start), months)
            if periods is not None:
                periods[key] = period
        return cls.of((period, _SENTIMENTS[sentiment], active_users, nps, nps_score, csat, ces, open_tickets, open_escalations,
                       sentiment_reason, outcome_progress, outcome_note, _RENEWALS[renewal] if renewal else None, expansion_jpy,
                       note, tuple((key, pct) for key, pct in features) if features else (),
                       tuple(RiskInput(RiskType(t), Severity(sv), n) for t, sv, n in risks) if risks else (),
                       tuple(VocInput(VocKind(k), text, area) for k, text, area in voc) if voc else ()))

    def comparable(self) -> tuple:
        return (
            self.period.start, self.active_users, self.nps, self.nps_score, self.csat, self.ces, self.open_tickets,
            self.open_escalations, self.sentiment, self.sentiment_reason, self.outcome_progress, self.outcome_note,
            self.renewal_likelihood, self.expansion_jpy, self.note, self.features, self.risks, self.voc,
        )


_SENTIMENTS = {m.value: m for m in Sentiment}
_RENEWALS = {m.value: m for m in RenewalLikelihood}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


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
    memo: dict | None = None,
) -> CheckInInput:
    """Validate one check-in. Keys: the field names of CheckInInput plus ``period``; feature
    adoption as ``features`` ({key: level or percentage}, API), ``feature_keys`` (a list: fully
    used) or one ``feature_<key>`` value each (form, file); ``risks`` and ``voc`` (lists of
    mappings) or the flat ``risk_type``/``risk_severity``/``risk_note`` and
    ``voc_kind``/``voc_text``/``voc_product_area``. `memo`: one dict for the rows of one file,
    so that a value checked in one row is not checked again in the next (Checks' memo)."""
    c = Checks(ALIASES, memo)
    raw_period = values.get("period")
    period, period_error = c.kept(("period", type(raw_period), raw_period, rule, today, contract_start),
                                  lambda: parse_period(raw_period, rule, today, contract_start))
    if period_error is not None:
        c.fail("period", period_error, values.get("period"))
    field = _field_checker(c, values)
    active_users = field("active_users")
    if active_users is not None and seats and active_users > seats:
        c.fail("active_users", _l("is more than the account's %(seats)s seats; update the seats first", seats=seats), active_users)
    nps = field("nps")
    nps_score = field("nps_score")
    if nps is not None and nps_score is not None:
        c.fail("nps_score", _l("give either the NPS answer (0–10) or the NPS score (−100 to 100), not both"), nps_score)
        nps_score = None
    csat = field("csat")
    ces = field("ces")
    open_tickets = field("open_tickets")
    open_escalations = field("open_escalations")
    sentiment = field("sentiment")
    sentiment_reason = field("sentiment_reason")
    if sentiment in (Sentiment.YELLOW, Sentiment.RED) and not sentiment_reason:
        c.fail("sentiment_reason", _l("is required when the sentiment is yellow or red: say why"))
    outcome_progress = field("outcome_progress")
    outcome_note = field("outcome_note")
    renewal_likelihood = field("renewal_likelihood")
    expansion_jpy = field("expansion_jpy")
    note = field("note")

    reported = _parse_features(c, values, features)

    risks = _sub_records(c, values, "risks", "risk_", ("type", "severity", "note"), MAX_RISKS, _parse_risk)
    voc = _sub_records(c, values, "voc", "voc_", ("kind", "text", "product_area"), MAX_VOC, _parse_voc)

    c.done()
    assert period is not None  # parse_period gave an error otherwise, and done() raised it
    return CheckInInput(
        period=period, sentiment=sentiment, active_users=active_users, nps=nps, nps_score=nps_score, csat=csat,
        ces=ces, open_tickets=open_tickets, open_escalations=open_escalations, sentiment_reason=sentiment_reason,
        outcome_progress=outcome_progress, outcome_note=outcome_note, renewal_likelihood=renewal_likelihood,
        expansion_jpy=expansion_jpy, note=note, features=reported, risks=tuple(risks), voc=tuple(voc),
    )


# How each of a check-in's own fields is checked on its own: (Checks method, its arguments).
FIELD_CHECKS: dict[str, tuple[Any, tuple, dict]] = {
    "active_users": (Checks.integer, (), {}),
    "nps": (Checks.integer, (0, 10), {}),
    "nps_score": (Checks.integer, (-100, 100), {}),
    "csat": (Checks.decimal, (1, 5, 1), {}),
    "ces": (Checks.integer, (1, 7), {}),
    "open_tickets": (Checks.integer, (), {"default": 0}),
    "open_escalations": (Checks.integer, (), {"default": 0}),
    "sentiment": (Checks.choice, (Sentiment,), {"required": True}),
    "sentiment_reason": (Checks.text, (), {}),
    "outcome_progress": (Checks.percent, (), {}),
    "outcome_note": (Checks.text, (), {}),
    "renewal_likelihood": (Checks.choice, (RenewalLikelihood,), {}),
    "expansion_jpy": (Checks.integer, (0, 10**13), {"default": 0}),
    "note": (Checks.text, (), {}),
}


def _field_checker(c: Checks, values: Mapping[str, Any]):
    """field(name): the value of one of the check-in's own fields (FIELD_CHECKS), its errors added
    to `c`. With a memo (a file's rows), a column is checked value by value rather than cell by
    cell: each distinct value of it is checked once, and a cell seen before costs two look-ups."""
    memo = c.memo
    if memo is None:
        def field(name: str) -> Any:
            check, args, kwargs = FIELD_CHECKS[name]
            return check(c, values, name, *args, **kwargs)
        return field
    columns = memo.get(_COLUMNS_KEY)
    if columns is None:
        columns = memo[_COLUMNS_KEY] = {name: {} for name in FIELD_CHECKS}
    errors = c.errors

    def memoised(name: str) -> Any:
        raw = values.get(name)
        column = columns[name]
        key = (raw.__class__, raw)  # 1, 1.0, "1" and True are different cells
        try:
            found = column.get(key)
        except TypeError:  # an unhashable value (the API's lists or objects): checked every time
            check, args, kwargs = FIELD_CHECKS[name]
            return check.__wrapped__(c, values, name, *args, **kwargs)
        if found is None:
            check, args, kwargs = FIELD_CHECKS[name]
            before = len(errors)
            value = check.__wrapped__(c, {name: raw}, name, *args, **kwargs)  # the check alone, not Checks' own memo
            found = column[key] = (value, errors[before:])
            return value
        if found[1]:
            errors.extend(found[1])
        return found[0]
    return memoised


_COLUMNS_KEY = ("check-in columns",)


def adoption_of(raw: Any) -> int | None:
    """A feature's adoption 0-100 from a level (English or Japanese), yes/no (yes is fully),
    a percentage ("80%", 80) or an Excel percent cell (0.8); None if it says none of these.
    Blank is None too: the caller decides that blank means "not reported"."""
    if isinstance(raw, bool):
        return 100 if raw else 0
    if isinstance(raw, float) and 0 < raw < 1:
        return round(raw * 100)  # a cell formatted as a percentage holds the fraction
    if isinstance(raw, (int, float)):
        return int(raw) if float(raw).is_integer() and 0 <= raw <= 100 else None
    if not isinstance(raw, str):
        return None
    text = normalised(raw).lower()
    level = ADOPTION_ALIASES.get(text, text.replace(" ", "_").replace("-", "_"))
    if level in ADOPTION_LEVELS:
        return ADOPTION_LEVELS[level]
    if text in YES:
        return 100
    if text in NO:
        return 0
    number = whole_number(text.removesuffix("%").strip())
    return number if number is not None and 0 <= number <= 100 else None


def adoption_label(pct: int) -> str:
    """A stored adoption in words: its level's name, or the percentage reported."""
    for level, value in ADOPTION_LEVELS.items():
        if value == pct:
            return str(ADOPTION_LABELS[level])
    return f"{pct}%"


def _parse_features(c: Checks, values: Mapping, features: list[Feature]) -> tuple[tuple[str, int], ...]:
    """Adoption per reported feature. A blank (or a feature left out) is not reported at all."""
    message = _l("must be a level (not used, trial, partly, fully), yes/no or a percentage 0–100")
    adoption: dict[str, int] = {}
    if "features" in values or "feature_keys" in values:  # the API's and the form's ways
        known = {f.key for f in features}
        options = ", ".join(sorted(known))
    if "features" in values and values.get("features") is not None:
        if "feature_keys" in values and values.get("feature_keys") is not None:
            c.fail("feature_keys", _l("give either features or feature_keys, not both"))
            return ()
        given = values.get("features")
        if not isinstance(given, Mapping):
            c.fail("features", _l("must be an object of feature keys and levels, like {\"reports\": \"partly\"}"), given)
            return ()
        unknown = [k for k in given if k not in known]
        if unknown:
            c.fail("features", _l("must list features from: %(options)s", options=options), unknown)
            return ()
        for key, raw in given.items():
            pct = None if raw is None or isinstance(raw, (dict, list)) else adoption_of(raw)
            if pct is None:
                c.fail(f"features.{key}", message, raw)
            else:
                adoption[key] = pct
    elif "feature_keys" in values:
        keys = values.get("feature_keys") or []
        well_formed = isinstance(keys, (list, tuple, set, frozenset)) and all(isinstance(k, str) for k in keys)
        unknown = [k for k in keys if k not in known] if well_formed else []
        if not well_formed or unknown:
            c.fail("feature_keys", _l("must list features from: %(options)s", options=options), unknown or keys)
            return ()
        adoption = {key: 100 for key in keys}
    else:
        for feature in features:
            name = f"feature_{feature.key}"
            raw = values.get(name)
            if blank(raw):
                continue
            pct = c.kept(("adoption", type(raw), raw), functools.partial(adoption_of, raw))
            if pct is None:
                c.fail(name, message, raw)
            else:
                adoption[feature.key] = pct
    return tuple(sorted(adoption.items()))


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


def _with_children(stmt):
    """Check-ins with what as_input reads of them, loaded in one query per child table."""
    return stmt.options(selectinload(CheckIn.feature_adoptions).joinedload(CheckInFeature.feature), selectinload(CheckIn.risks),
                        selectinload(CheckIn.voc_items))


def current_check_in(session: Session, account_id: int, period_start: date) -> CheckIn | None:
    """The version in force for an account and period (the highest version number)."""
    return session.scalar(
        _with_children(select(CheckIn))
        .where(CheckIn.account_id == account_id, CheckIn.period_start == period_start)
        .order_by(CheckIn.version.desc())
        .limit(1)
    )


def as_input(check_in: CheckIn, period: Period) -> CheckInInput:
    """A stored check-in in the shape of an input, to compare with a new one or refill a form."""
    return CheckInInput(
        period=period, sentiment=check_in.sentiment, active_users=check_in.active_users, nps=check_in.nps,
        nps_score=check_in.nps_score, csat=check_in.csat, ces=check_in.ces, open_tickets=check_in.open_tickets,
        open_escalations=check_in.open_escalations, sentiment_reason=check_in.sentiment_reason,
        outcome_progress=check_in.outcome_progress, outcome_note=check_in.outcome_note,
        renewal_likelihood=check_in.renewal_likelihood, expansion_jpy=check_in.expansion_jpy, note=check_in.note,
        features=tuple(sorted((a.feature.key, a.adoption_pct) for a in check_in.feature_adoptions)),
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


@dataclass(frozen=True)
class InForce:
    """The version in force of an (account, period), as a new report is compared with it and a
    correction carries its voice-of-customer answers over (`voc_items`: rows with VocItem's columns)."""

    id: int
    version: int
    stored: CheckInInput | None  # its values, with a placeholder period (None: not read, see current_check_ins)
    voc_items: tuple = ()

    def as_input(self, period: Period) -> CheckInInput:
        assert self.stored is not None  # read with its values
        return replace(self.stored, period=period)


def current_check_ins(session: Session, keys: set[tuple[int, date]], *, values: bool = True) -> dict[tuple[int, date], InForce]:
    """The versions in force for many (account id, period start) pairs: one query per table
    (check-ins, features, risks, voice of the customer), however many pairs, and no ORM objects,
    so that a file of 10,000 rows is compared in about a second. values=False: their ids,
    versions and voice-of-customer items only (`stored` None), for a writer whose outcomes are
    already known (an import's commit from its plan): two queries."""
    if not keys:
        return {}
    names = ["id", "account_id", "period_start", "version", *(STORED_FIELDS if values else ())]
    # Rows by position: id, account id, period start, version, then STORED_FIELDS in the input's order.
    head = [row for row in session.execute(_in_force_query(session, keys, names)) if (row[1], row[2]) in keys]
    ids = sorted(row[0] for row in head)
    features: dict[int, list] = {}
    risks: dict[int, list] = {}
    voc: dict[int, list] = {}
    if values:
        for check_in_id, key, pct in session.execute(select(CheckInFeature.check_in_id, Feature.key, CheckInFeature.adoption_pct)
                                                     .join(Feature, Feature.id == CheckInFeature.feature_id)
                                                     .where(among(session, CheckInFeature.check_in_id, ids))):
            features.setdefault(check_in_id, []).append((key, pct))
        for check_in_id, risk_type, severity, note in session.execute(
                select(CheckInRisk.check_in_id, CheckInRisk.type, CheckInRisk.severity, CheckInRisk.note)
                .where(among(session, CheckInRisk.check_in_id, ids)).order_by(CheckInRisk.id)):
            risks.setdefault(check_in_id, []).append(RiskInput(risk_type, severity, note))
    for item in session.execute(select(*VocItem.__table__.columns).where(among(session, VocItem.check_in_id, ids))
                                .order_by(VocItem.id)):
        voc.setdefault(item.check_in_id, []).append(item)
    found: dict[tuple[int, date], InForce] = {}
    if not values:
        for row in head:
            found[(row[1], row[2])] = InForce(row[0], row[3], None, tuple(voc.get(row[0], ())))
        return found
    periods: dict[date, Period] = {}  # a placeholder period per start: most files name one or two
    none: tuple = ()
    for row in head:
        check_in_id, start = row[0], row[2]
        period = periods.get(start) or periods.setdefault(start, Period(start, start, 1))
        items = tuple(voc[check_in_id]) if check_in_id in voc else none
        stored = CheckInInput.of((period, *row[4:], tuple(sorted(features[check_in_id])) if check_in_id in features else none,
                                  tuple(risks[check_in_id]) if check_in_id in risks else none,
                                  tuple(VocInput(v.kind, v.text, v.product_area) for v in items) if items else none))
        found[(row[1], start)] = InForce(check_in_id, row[3], stored, items)
    return found


def _in_force_query(session: Session, keys: set[tuple[int, date]], names: list[str]):
    """The versions in force (the highest version) of many (account id, period start) pairs, in one
    query: CheckIn's columns `names`. On PostgreSQL the pairs go in as two arrays (unnest) and each
    finds its newest version with one backward index probe (LATERAL … LIMIT 1: 10,000 pairs in
    under 0.1 s); elsewhere accounts and periods are matched apart (a few more rows, which the
    caller drops) and a newer version must not exist."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import func, true
        from sqlalchemy.types import Date, Integer

        pairs = sorted(keys)
        wanted = (func.unnest(pg_array([a for a, _ in pairs], Integer()), pg_array([p for _, p in pairs], Date()))
                  .table_valued("account_id", "period_start").render_derived(name="wanted"))
        newest = (select(*(getattr(CheckIn, name) for name in names))
                  .where(CheckIn.account_id == wanted.c.account_id, CheckIn.period_start == wanted.c.period_start)
                  .order_by(CheckIn.version.desc()).limit(1).lateral("newest"))
        return select(*(newest.c[name] for name in names)).select_from(wanted).join(newest, true())
    newer = aliased(CheckIn)
    return (select(*(getattr(CheckIn, name) for name in names))
            .where(among(session, CheckIn.account_id, sorted({a for a, _ in keys})), CheckIn.period_start.in_({p for _, p in keys}),
                   ~exists().where(newer.account_id == CheckIn.account_id, newer.period_start == CheckIn.period_start,
                                   newer.version > CheckIn.version)))


def outcome_against(existing: InForce | None, data: CheckInInput) -> tuple[Outcome, InForce | None]:
    """What submitting `data` would do, given the version in force for its period."""
    if existing is None:
        return Outcome.CREATED, None
    assert existing.stored is not None  # read with its values
    if existing.stored.comparable()[1:] == data.comparable()[1:]:  # [0] is the period's start: the same pair
        return Outcome.UNCHANGED, existing
    return Outcome.CORRECTED, existing


@dataclass(frozen=True)
class Written:
    """What submitting one report did: its outcome, the id of the version now in force, and the
    version it was compared with (None for a first report)."""

    outcome: Outcome
    check_in_id: int
    previous: InForce | None


def submit_check_ins(
    session: Session,
    reports: Sequence[tuple[Account, CheckInInput]],
    *,
    source: ReportSource,
    user: User | None = None,
    token: ApiToken | None = None,
    in_force: Mapping[tuple[int, date], InForce] | None = None,
    outcomes: Sequence[Outcome] | None = None,
) -> list[Written]:
    """Store many reports at once, in report order (flushed, not committed: the caller commits the
    whole unit of work). The one write path for the form, the API and the file: the versions in
    force are read in one query, and each table is written with one statement, so a file of
    10,000 rows costs as many statements as one report. An (account, period) appears once.
    `in_force`: the versions in force (current_check_ins), when the caller has read them already;
    `outcomes`: each report's outcome, when a plan compared them with those very versions (the
    import's commit, after checking that its plan is not stale), so they are not compared again."""
    if in_force is None:
        in_force = current_check_ins(session, {(account.id, data.period.start) for account, data in reports})
    if outcomes is None:
        planned = [outcome_against(in_force.get((account.id, data.period.start)), data) for account, data in reports]
    else:
        planned = [(outcome, in_force.get((account.id, data.period.start)))
                   for (account, data), outcome in zip(reports, outcomes, strict=True)]
    to_write = [(account, data, existing) for (account, data), (outcome, existing) in zip(reports, planned, strict=True)
                if outcome is not Outcome.UNCHANGED]
    ids: list[int] = []
    if to_write:
        session.flush()
        now = utcnow()
        # Core, not the ORM's bulk insert (which splits the rows into groups by their None values).
        table = cast(Table, CheckIn.__table__)
        # Read once: `user` may be Flask-Login's current_user, a proxy that looks the user up on every use.
        submitted_by_id, api_token_id = user.id if user else None, token.id if token else None
        rows = [dict(account_id=account.id, partner_id=account.partner_id, period_start=data.period.start,
                     version=(existing.version + 1) if existing else 1, source=source, submitted_at=now,
                     submitted_by_id=submitted_by_id, api_token_id=api_token_id,
                     **{name: getattr(data, name) for name in STORED_FIELDS})
                for account, data, existing in to_write]
        taken = new_ids(session, table, len(rows))
        if taken is not None:  # PostgreSQL: ids from the sequence, then one INSERT … SELECT FROM unnest
            insert_many(session, table, [row | {"id": id_} for row, id_ in zip(rows, taken, strict=True)])
            ids = taken
        else:
            # RETURNING without asking for parameter order (SQLAlchemy would then go row by row):
            # an (account, period) appears once, so the returned keys say which id is which report's.
            returned = session.execute(insert(table).returning(table.c.id, table.c.account_id, table.c.period_start), rows)
            id_of = {(r.account_id, r.period_start): r.id for r in returned}
            ids = [id_of[(account.id, data.period.start)] for account, data, _ in to_write]
        _write_children(session, [(check_in_id, account, data, existing)
                                  for check_in_id, (account, data, existing) in zip(ids, to_write, strict=True)])
    written, fresh = [], iter(ids)
    for outcome, existing in planned:
        check_in_id = existing.id if outcome is Outcome.UNCHANGED and existing is not None else next(fresh)
        written.append(Written(outcome, check_in_id, existing))
    return written


_INPUT_FIELDS = tuple(f.name for f in fields(CheckInInput))
# The check-in's own columns, as CheckInInput names them and in its order (between the period and
# the features), so that current_check_ins builds an input from a row's columns by position.
STORED_FIELDS = tuple(f.name for f in fields(CheckInInput))[1:-3]


def _write_children(session: Session, written: list[tuple[int, Account, CheckInInput, InForce | None]]) -> None:
    """Feature adoption, risks and voice-of-customer items of new check-ins: one INSERT per table.
    The product areas are matched with one matcher for all the reports."""
    keys = {key for _, _, data, _ in written for key, _pct in data.features}
    feature_ids = {key: id_ for key, id_ in session.execute(select(Feature.key, Feature.id).where(Feature.key.in_(keys)))} if keys else {}
    adoptions = [{"check_in_id": check_in_id, "feature_id": feature_ids[key], "adoption_pct": pct}
                 for check_in_id, _, data, _ in written for key, pct in data.features]
    risks = [{"check_in_id": check_in_id, "type": r.type, "severity": r.severity, "note": r.note}
             for check_in_id, _, data, _ in written for r in data.risks]
    matcher = area_matcher(session, [v for _, _, data, _ in written for v in data.voc])
    voc = [{"check_in_id": check_in_id, **item}
           for check_in_id, account, data, existing in written
           for item in voc_item_values(account, data.voc, existing, matcher)]
    for table, rows in ((check_in_features, adoptions), (cast(Table, CheckInRisk.__table__), risks), (cast(Table, VocItem.__table__), voc)):
        insert_many(session, table, rows)
    corrected = [existing.id for _, _, _, existing in written if existing is not None]
    if corrected:  # the versions these correct no longer speak for the customer (VocItem.in_force)
        session.execute(update(VocItem).where(among(session, VocItem.check_in_id, corrected), VocItem.in_force.is_(True))
                        .values(in_force=False))


def submit_check_in(
    session: Session,
    account: Account,
    data: CheckInInput,
    *,
    source: ReportSource,
    user: User | None = None,
    token: ApiToken | None = None,
) -> SubmitResult:
    """Add one report (the form, the API): submit_check_ins with one report."""
    [written] = submit_check_ins(session, [(account, data)], source=source, user=user, token=token)
    check_in = session.get_one(CheckIn, written.check_in_id)
    existing = written.previous
    changed = changed_fields(existing.as_input(data.period), data) if existing and written.outcome is Outcome.CORRECTED else []
    return SubmitResult(check_in, written.outcome, changed)


def changed_fields(old: CheckInInput, new: CheckInInput) -> list[str]:
    names = [f for f in CheckInInput.__dataclass_fields__ if f != "period"]
    return [n for n in names if getattr(old, n) != getattr(new, n)]
