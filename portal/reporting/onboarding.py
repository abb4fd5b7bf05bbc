"""Onboarding is a project: milestones per account from the vendor's template, progress,
lateness and time to first value, and stakeholders (success is personal)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import lifecycle
from portal.core.history import record_change, snapshot
from portal.models import (
    Account,
    ApiToken,
    LifecycleStatus,
    Milestone,
    MilestoneStatus,
    MilestoneTemplate,
    ReportSource,
    Stakeholder,
    StakeholderRole,
    User,
)
from portal.core.validation import Checks

# key, English, Japanese, days after contract start, marks first value
DEFAULT_MILESTONES = [
    ("kickoff", "Kickoff", "キックオフ", 7, False),
    ("success_plan", "Success plan and desired outcome agreed", "サクセスプランと目指す成果の合意", 21, False),
    ("technical_setup", "Technical setup", "技術的セットアップ", 35, False),
    ("user_training", "User training", "ユーザートレーニング", 49, False),
    ("first_value", "First value", "最初の成果（ファーストバリュー）", 63, True),
    ("go_live", "Go-live", "本稼働", 90, False),
]
# Done, this one moves the account from onboarding to adoption (portal.accounts.lifecycle).
GO_LIVE_KEY = "go_live"
FINISHED = (MilestoneStatus.DONE, MilestoneStatus.SKIPPED)
MILESTONE_FIELDS = ("status", "planned_on", "completed_on", "note")
STAKEHOLDER_FIELDS = ("name", "role", "success_note", "last_contact_on", "active")


def ensure_default_templates(session: Session) -> None:
    if session.scalar(select(MilestoneTemplate.id).limit(1)) is None:
        for position, (key, en, ja, days, first_value) in enumerate(DEFAULT_MILESTONES):
            session.add(MilestoneTemplate(key=key, name_en=en, name_ja=ja, position=position, due_after_days=days,
                                          marks_first_value=first_value, marks_go_live=key == GO_LIVE_KEY))
        session.flush()


@dataclass
class MilestoneView:
    """A template step for one account, with the reseller's record of it if there is one."""

    template: MilestoneTemplate
    record: Milestone | None
    planned_on: date | None
    completed_on: date | None
    status: MilestoneStatus
    note: str | None
    today: date
    # Accounts adopted before the portal have no milestone records: unknown, not late.
    judged: bool = True

    @property
    def days_late(self) -> int:
        """Open past its planned date: days so far; finished after it: days it was late."""
        if self.planned_on is None or self.status == MilestoneStatus.SKIPPED or not self.judged:
            return 0
        end = self.completed_on if self.status == MilestoneStatus.DONE and self.completed_on else self.today
        return max(0, (end - self.planned_on).days)

    @property
    def late(self) -> bool:
        return self.days_late > 0 and self.status not in FINISHED

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def milestone_views(session: Session, account: Account, today: date) -> list[MilestoneView]:
    templates = list(session.scalars(select(MilestoneTemplate).where(MilestoneTemplate.active.is_(True)).order_by(MilestoneTemplate.position)))
    records = {m.template_id: m for m in session.scalars(select(Milestone).where(Milestone.account_id == account.id))}
    views = []
    for template in templates:
        record = records.get(template.id)
        default_plan = account.contract_start + timedelta(days=template.due_after_days) if account.contract_start else None
        views.append(MilestoneView(
            template=template, record=record,
            planned_on=(record.planned_on if record and record.planned_on else default_plan),
            completed_on=record.completed_on if record else None,
            status=record.status if record else MilestoneStatus.PLANNED,
            note=record.note if record else None,
            today=today,
            judged=record is not None or account.status == LifecycleStatus.ONBOARDING,
        ))
    return views


@dataclass
class OnboardingSummary:
    done: int
    total: int
    late: int
    time_to_first_value_days: int | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def summarise(account: Account, views: list[MilestoneView]) -> OnboardingSummary:
    first_value = next((v for v in views if v.template.marks_first_value and v.status == MilestoneStatus.DONE and v.completed_on), None)
    first_value_on = first_value.completed_on if first_value else None
    ttfv = (first_value_on - account.contract_start).days if first_value_on and account.contract_start else None
    return OnboardingSummary(
        done=sum(1 for v in views if v.finished), total=len(views), late=sum(1 for v in views if v.late), time_to_first_value_days=ttfv
    )


def parse_milestone(values: Mapping[str, Any], today: date) -> dict[str, Any]:
    """A milestone's status, dates and note, checked (raises ValidationError)."""
    c = Checks()
    status = c.choice(values, "status", MilestoneStatus, required=True)
    dates = {name: c.date(values, name) for name in ("planned_on", "completed_on")}
    if status == MilestoneStatus.DONE and dates["completed_on"] is None and not c.failed("completed_on"):
        c.fail("completed_on", _l("is required when the milestone is done: when was it reached?"))
    if dates["completed_on"] and dates["completed_on"] > today:
        c.fail("completed_on", _l("is in the future"), values.get("completed_on"))
    if dates["completed_on"] and status not in (MilestoneStatus.DONE,):
        dates["completed_on"] = None  # only a finished milestone has an actual date
    note = c.text(values, "note")
    c.done()
    return {"status": status, "note": note, **dates}


def save_milestone(
    session: Session, account: Account, template: MilestoneTemplate, values: dict, *,
    source: ReportSource, user: User | None = None, token: ApiToken | None = None,
) -> Milestone:
    """Record the reseller's progress on one step; the go-live step, done, moves the account to adoption."""
    record = session.scalar(select(Milestone).where(Milestone.account_id == account.id, Milestone.template_id == template.id))
    before = snapshot(record, MILESTONE_FIELDS) if record else None
    was_done = record is not None and record.status == MilestoneStatus.DONE
    if record is None:
        record = Milestone(account_id=account.id, partner_id=account.partner_id, template_id=template.id)
        session.add(record)
    for name in MILESTONE_FIELDS:
        setattr(record, name, values[name])
    record.updated_by_id = user.id if user else None
    session.flush()
    record_change(session, entity="milestone", entity_id=record.id, partner_id=account.partner_id, account_id=account.id,
                  before=before, after=snapshot(record, MILESTONE_FIELDS), source=source, user=user, token=token)
    record.template = template
    lifecycle.move_on_go_live(session, record, was_done, source=source, user=user, token=token)
    return record


def parse_stakeholder(values: Mapping[str, Any], today: date) -> dict[str, Any]:
    """A stakeholder's fields, checked (raises ValidationError)."""
    c = Checks()
    name = c.text(values, "name", max_length=120, required=True)
    role = c.choice(values, "role", StakeholderRole, required=True)
    success_note = c.text(values, "success_note", max_length=300)
    last_contact_on = c.date(values, "last_contact_on")
    if last_contact_on and last_contact_on > today:
        c.fail("last_contact_on", _l("is in the future"), values.get("last_contact_on"))
    # Left out: active. Given: a real yes or no ("false" must not count as true).
    active = True if values.get("active") is None else c.flag(values, "active")
    c.done()
    return {"name": name, "role": role, "success_note": success_note, "last_contact_on": last_contact_on, "active": active}


def save_stakeholder(
    session: Session, account: Account, stakeholder: Stakeholder | None, values: dict, *,
    source: ReportSource, user: User | None = None, token: ApiToken | None = None,
) -> Stakeholder:
    before = snapshot(stakeholder, STAKEHOLDER_FIELDS) if stakeholder else None
    if stakeholder is None:
        stakeholder = Stakeholder(account_id=account.id, partner_id=account.partner_id)
        session.add(stakeholder)
    for name in STAKEHOLDER_FIELDS:
        setattr(stakeholder, name, values[name])
    session.flush()
    record_change(session, entity="stakeholder", entity_id=stakeholder.id, partner_id=account.partner_id, account_id=account.id,
                  before=before, after=snapshot(stakeholder, STAKEHOLDER_FIELDS), source=source, user=user, token=token)
    return stakeholder
