"""The vendor's reporting rules a fresh portal starts with; the vendor admin edits them later.

`ensure_defaults` only fills empty tables, so it is safe to run after every upgrade.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.reporting.cadence import DEFAULT_CADENCES, DEFAULT_GRACE_DAYS
from portal.models import ChurnReason, Feature, ProductArea, ReportingCadence
from portal.reporting.onboarding import ensure_default_templates

# key, English, Japanese
DEFAULT_FEATURES = [
    ("workflow", "Workflow automation", "ワークフロー自動化"),
    ("reports", "Reports and dashboards", "レポート・ダッシュボード"),
    ("mobile", "Mobile app", "モバイルアプリ"),
    ("integrations", "Integrations", "外部サービス連携"),
    ("sso", "Single sign-on", "シングルサインオン"),
]

# key, English, Japanese, other words resellers write: the vendor's product areas for the voice
# of the customer (migration 0013_voc holds a copy, for the items that existed before it).
DEFAULT_PRODUCT_AREAS = [
    ("reports", "Reports and dashboards", "レポート・ダッシュボード", ["Reports", "Dashboards", "レポート", "ダッシュボード", "帳票"]),
    ("workflow", "Workflow", "ワークフロー", ["Approvals", "承認", "承認フロー"]),
    ("mobile", "Mobile app", "モバイルアプリ", ["Mobile", "モバイル", "スマホ", "スマートフォン"]),
    ("integrations", "Integrations", "外部サービス連携", ["Integration", "API", "連携"]),
    ("security", "Security and sign-in", "セキュリティ・ログイン", ["Security", "SSO", "セキュリティ", "シングルサインオン", "ログイン"]),
    ("administration", "Administration and settings", "管理・設定", ["Admin", "Settings", "管理", "設定"]),
]

# code, English, Japanese: the vendor's churn reasons to start with (migration 0028 seeds a copy).
DEFAULT_REASONS = [
    ("price", "Price", "価格"),
    ("product_fit", "Product fit", "製品の適合"),
    ("competitor", "Switched to a competitor", "競合製品へ移行"),
    ("closed_merged", "Company closed or merged", "廃業・合併"),
    ("budget", "Budget", "予算削減"),
    ("onboarding", "Poor onboarding", "導入支援の不足"),
    ("other", "Other", "その他"),
]


def ensure_defaults(session: Session) -> None:
    ensure_default_templates(session)
    if session.scalar(select(Feature.id).limit(1)) is None:
        for position, (key, en, ja) in enumerate(DEFAULT_FEATURES):
            session.add(Feature(key=key, name_en=en, name_ja=ja, position=position))
    if session.scalar(select(ProductArea.id).limit(1)) is None:
        for position, (key, en, ja, aliases) in enumerate(DEFAULT_PRODUCT_AREAS):
            session.add(ProductArea(key=key, name_en=en, name_ja=ja, aliases=aliases, position=position))
    if session.scalar(select(ChurnReason.id).limit(1)) is None:
        for position, (code, en, ja) in enumerate(DEFAULT_REASONS):
            session.add(ChurnReason(code=code, label_en=en, label_ja=ja, position=position))
    existing = set(session.scalars(select(ReportingCadence.segment)))
    for segment, months in DEFAULT_CADENCES.items():
        if segment not in existing:
            session.add(ReportingCadence(segment=segment, months=months, grace_days=DEFAULT_GRACE_DAYS))
    session.commit()
