"""Demo data: one vendor, a dozen resellers and a few hundred end customers, deterministic.

A plain function of a session, so the CLI and the tests load exactly the same data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Account, LifecycleStatus, Partner, PartnerStatus, PartnerTier, Role, Segment, User

DEMO_PASSWORD = "portal-demo-2026"

# (name, code, tier, status, manager index, Japanese?)
PARTNERS = [
    ("さくらシステムズ株式会社", "SAKURA", PartnerTier.GOLD, PartnerStatus.ACTIVE, 0, True),
    ("Blue Harbor Solutions", "BLUEHARBOR", PartnerTier.PLATINUM, PartnerStatus.ACTIVE, 0, False),
    ("株式会社北斗ITパートナーズ", "HOKUTO", PartnerTier.SILVER, PartnerStatus.ACTIVE, 0, True),
    ("Kansai Digital Works", "KANSAI", PartnerTier.GOLD, PartnerStatus.ACTIVE, 1, False),
    ("みなとクラウド株式会社", "MINATO", PartnerTier.SILVER, PartnerStatus.ACTIVE, 1, True),
    ("Pacific Rim Consulting", "PACRIM", PartnerTier.REGISTERED, PartnerStatus.ACTIVE, 1, False),
    ("株式会社富士ソリューションズ", "FUJISOL", PartnerTier.GOLD, PartnerStatus.ACTIVE, 0, True),
    ("Tokyo Bay Networks", "TBN", PartnerTier.SILVER, PartnerStatus.ACTIVE, 1, False),
    ("九州ビジネスサポート株式会社", "KYUSHU", PartnerTier.REGISTERED, PartnerStatus.ACTIVE, 1, True),
    ("Northern Lights IT", "NLIT", PartnerTier.SILVER, PartnerStatus.SUSPENDED, 0, False),
    ("株式会社青葉テクノロジー", "AOBA", PartnerTier.REGISTERED, PartnerStatus.PROSPECT, 1, True),
    ("Setouchi Systems", "SETOUCHI", PartnerTier.SILVER, PartnerStatus.ACTIVE, 0, False),
]

JA_PREFIXES = ["東都", "浪速", "北陸", "中央", "青山", "みどり", "大和", "あさひ", "港南", "湘南", "信州", "博多",
               "杜の都", "瀬戸", "葵", "若葉", "日の出", "白鷺", "松風", "桜井"]
JA_KINDS = ["商事", "製作所", "物流", "建設", "食品", "薬品", "不動産", "会計事務所", "クリニック", "ホテル",
            "電機", "印刷", "運輸", "精工", "保険サービス"]
EN_PREFIXES = ["Harbor", "Summit", "Maple", "Cedar", "Orbit", "Lumen", "Granite", "Silverline", "Northwind",
               "Bright", "Keystone", "Riverside", "Evergreen", "Nimbus", "Atlas"]
EN_KINDS = ["Logistics", "Foods", "Clinics", "Manufacturing", "Retail", "Hotels", "Accounting", "Printing",
            "Builders", "Pharma", "Realty", "Electronics"]
INDUSTRIES_JA = ["製造", "小売", "物流", "医療", "建設", "金融", "不動産", "宿泊", "専門サービス"]
INDUSTRIES_EN = ["Manufacturing", "Retail", "Logistics", "Healthcare", "Construction", "Finance", "Real estate",
                 "Hospitality", "Professional services"]
OUTCOMES_JA = ["請求書処理の時間を半分にする", "営業日報の入力を毎日定着させる", "問い合わせ対応時間を30%短縮する",
               "紙の稟議を年度内に廃止する", "在庫の棚卸しを月1日で終える", "新人の立ち上がり期間を3か月から1か月へ"]
OUTCOMES_EN = ["Halve invoice processing time", "Every sales rep logs visits daily", "Cut support response time by 30%",
               "Retire paper approvals this fiscal year", "Close the monthly stock count in one day",
               "Onboard new hires in one month instead of three"]
PLANS = ["Starter", "Standard", "Business", "Enterprise"]


@dataclass
class DemoLogin:
    email: str
    role: Role
    partner: str | None


def demo_logins() -> list[DemoLogin]:
    return [
        DemoLogin("admin@vendor.example", Role.VENDOR_ADMIN, None),
        DemoLogin("manager@vendor.example", Role.PARTNER_MANAGER, None),
        DemoLogin("admin@sakura.example", Role.PARTNER_ADMIN, "SAKURA"),
        DemoLogin("user@sakura.example", Role.PARTNER_USER, "SAKURA"),
        DemoLogin("admin@blueharbor.example", Role.PARTNER_ADMIN, "BLUEHARBOR"),
    ]


def has_data(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Partner)))


def load_demo(
    session: Session,
    *,
    today: date | None = None,
    accounts_per_partner: int = 25,
    password_method: str = "scrypt",
    seed: int = 2026,
) -> list[DemoLogin]:
    """Add the demo vendor staff, partners, their users and accounts; returns the demo logins."""
    rng = random.Random(seed)
    today = today or date.today()

    def person(email, name, role, partner=None, language=None):
        user = User(email=email, display_name=name, role=role, partner=partner, language=language)
        user.set_password(DEMO_PASSWORD, password_method)
        session.add(user)
        return user

    person("admin@vendor.example", "Vendor Admin", Role.VENDOR_ADMIN)
    managers = [
        person("manager@vendor.example", "佐藤 美咲", Role.PARTNER_MANAGER, language="ja"),
        person("manager2@vendor.example", "Daniel Carter", Role.PARTNER_MANAGER, language="en"),
    ]
    partners = {}
    for name, code, tier, status, manager, japanese in PARTNERS:
        partner = Partner(name=name, code=code, tier=tier, status=status, managers=[managers[manager]])
        session.add(partner)
        partners[code] = partner
        _add_accounts(session, rng, partner, japanese, accounts_per_partner + rng.randint(-6, 8), today)

    person("admin@sakura.example", "高橋 健一", Role.PARTNER_ADMIN, partners["SAKURA"], language="ja")
    person("user@sakura.example", "田中 由美", Role.PARTNER_USER, partners["SAKURA"], language="ja")
    person("admin@blueharbor.example", "Emma Wilson", Role.PARTNER_ADMIN, partners["BLUEHARBOR"], language="en")
    person("user@blueharbor.example", "Liam Brooks", Role.PARTNER_USER, partners["BLUEHARBOR"])
    for code in ("HOKUTO", "KANSAI", "MINATO", "FUJISOL"):
        person(f"admin@{code.lower()}.example", f"{code.title()} Admin", Role.PARTNER_ADMIN, partners[code])
    session.commit()
    return demo_logins()


def _add_accounts(session: Session, rng: random.Random, partner: Partner, japanese: bool, count: int, today: date) -> None:
    for n in range(1, count + 1):
        if japanese:
            name = f"株式会社{rng.choice(JA_PREFIXES)}{rng.choice(JA_KINDS)}"
            industry, outcome = rng.choice(INDUSTRIES_JA), rng.choice(OUTCOMES_JA)
        else:
            name = f"{rng.choice(EN_PREFIXES)} {rng.choice(EN_KINDS)}"
            industry, outcome = rng.choice(INDUSTRIES_EN), rng.choice(OUTCOMES_EN)
        seats = rng.choice([5, 10, 15, 25, 40, 60, 100, 150, 300, 500])
        arr = seats * rng.choice([9_600, 12_000, 18_000, 24_000])
        segment = Segment.HIGH_TOUCH if arr >= 3_000_000 else Segment.LOW_TOUCH if arr >= 600_000 else Segment.TECH_TOUCH
        contract_start = today - timedelta(days=rng.randint(10, 3 * 365))
        years = max(1, (today - contract_start).days // 365 + 1)
        renewal = contract_start + timedelta(days=365 * years)
        status = LifecycleStatus.ONBOARDING if (today - contract_start).days < 100 else LifecycleStatus.ACTIVE
        churned_on = churn_reason = None
        if status == LifecycleStatus.ACTIVE and rng.random() < 0.07:
            status = LifecycleStatus.CHURNED
            churned_on = renewal - timedelta(days=365)
            churn_reason = rng.choice(["予算削減", "担当者の異動", "競合製品へ移行"] if japanese
                                      else ["Budget cut", "Champion left", "Moved to a competitor"])
        session.add(
            Account(
                partner=partner,
                reference=f"{partner.code[:3]}-{n:04d}",
                name=name if n % 7 else f"{name} {'第' + str(n) + '事業部' if japanese else 'Division ' + str(n)}",
                industry=industry,
                segment=segment,
                plan=PLANS[min(3, seats // 100)],
                seats=seats,
                arr_jpy=arr,
                contract_start=contract_start,
                renewal_date=renewal,
                desired_outcome=outcome,
                status=status,
                churned_on=churned_on,
                churn_reason=churn_reason,
            )
        )
