"""The vendor's reporting rules a fresh portal starts with; the vendor admin edits them later.

`ensure_defaults` only fills empty tables, so it is safe to run after every upgrade.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.reporting.cadence import DEFAULT_CADENCES, DEFAULT_GRACE_DAYS
from portal.models import Feature, ReportingCadence
from portal.reporting.onboarding import ensure_default_templates

# key, English, Japanese
DEFAULT_FEATURES = [
    ("workflow", "Workflow automation", "ワークフロー自動化"),
    ("reports", "Reports and dashboards", "レポート・ダッシュボード"),
    ("mobile", "Mobile app", "モバイルアプリ"),
    ("integrations", "Integrations", "外部サービス連携"),
    ("sso", "Single sign-on", "シングルサインオン"),
]


def ensure_defaults(session: Session) -> None:
    ensure_default_templates(session)
    if session.scalar(select(Feature.id).limit(1)) is None:
        for position, (key, en, ja) in enumerate(DEFAULT_FEATURES):
            session.add(Feature(key=key, name_en=en, name_ja=ja, position=position))
    existing = set(session.scalars(select(ReportingCadence.segment)))
    for segment, months in DEFAULT_CADENCES.items():
        if segment not in existing:
            session.add(ReportingCadence(segment=segment, months=months, grace_days=DEFAULT_GRACE_DAYS))
    session.commit()
