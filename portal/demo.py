"""Demo data: one vendor, a dozen resellers and a few hundred end customers, deterministic.

A plain function of a session, so the CLI and the tests load exactly the same data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.security import generate_password_hash

from portal.core import clock
from portal.scoring.aggregation import aggregate
from portal.reporting.cadence import DEFAULT_CADENCES, period_containing
from portal.models import (
    OPEN_ACTION_STATUSES, AccountArr, AccountNote, ChurnReason, OutcomeKind, RenewalOutcome, ActionEvent, ActionEventKind, ActionItem, ActionKind, ActionStatus, Account, CheckIn, CheckInFeature, CheckInRisk, Feature, LifecycleStatus, Milestone, MilestoneStatus, MilestoneTemplate, NoteKind, Partner,
    PartnerStatus, PhaseReason, PartnerTier, Playbook, PlaybookStep, RenewalLikelihood, ReportSource, RiskType, Role, Segment, Sentiment, Severity, Stakeholder,
    StakeholderRole, User, VocItem, VocKind,
)
from portal.reporting.reference_data import ensure_defaults
from portal.models import VocStatus
from portal.reporting.voc import assign_unassigned

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

# Name parts with their readings (フリガナ), which Japanese lists sort by; the legal form 株式会社
# is left out of the reading, as Japanese business systems do.
JA_PREFIX_READINGS = {"東都": "トウト", "浪速": "ナニワ", "北陸": "ホクリク", "中央": "チュウオウ", "青山": "アオヤマ",
                      "みどり": "ミドリ", "大和": "ヤマト", "あさひ": "アサヒ", "港南": "コウナン", "湘南": "ショウナン",
                      "信州": "シンシュウ", "博多": "ハカタ", "杜の都": "モリノミヤコ", "瀬戸": "セト", "葵": "アオイ",
                      "若葉": "ワカバ", "日の出": "ヒノデ", "白鷺": "シラサギ", "松風": "マツカゼ", "桜井": "サクライ"}
JA_KIND_READINGS = {"商事": "ショウジ", "製作所": "セイサクショ", "物流": "ブツリュウ", "建設": "ケンセツ", "食品": "ショクヒン",
                    "薬品": "ヤクヒン", "不動産": "フドウサン", "会計事務所": "カイケイジムショ", "クリニック": "クリニック",
                    "ホテル": "ホテル", "電機": "デンキ", "印刷": "インサツ", "運輸": "ウンユ", "精工": "セイコウ",
                    "保険サービス": "ホケンサービス"}
JA_PREFIXES = list(JA_PREFIX_READINGS)
JA_KINDS = list(JA_KIND_READINGS)
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
    ensure_defaults(session)
    _add_playbooks(session)  # before any item opens, so that items copy their steps
    rng = random.Random(seed)
    today = today or clock.today()

    # One hash for everyone (they share the demo password anyway): scrypt per person was most of the load time.
    password_hash = generate_password_hash(DEMO_PASSWORD, method=password_method)

    def person(email, name, role, partner=None, language=None):
        user = User(email=email, display_name=name, role=role, partner=partner, language=language)
        user.password_hash = password_hash
        user.end_sessions()
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

    staff = {"SAKURA": [person("admin@sakura.example", "高橋 健一", Role.PARTNER_ADMIN, partners["SAKURA"], language="ja"),
                        person("user@sakura.example", "田中 由美", Role.PARTNER_USER, partners["SAKURA"], language="ja")],
             "BLUEHARBOR": [person("admin@blueharbor.example", "Emma Wilson", Role.PARTNER_ADMIN, partners["BLUEHARBOR"], language="en"),
                            person("user@blueharbor.example", "Liam Brooks", Role.PARTNER_USER, partners["BLUEHARBOR"])]}
    # Owners, so that "my accounts" means something: the staff user most, the admin some, a few nobody yet.
    for code, (admin, user) in staff.items():
        for n, account in enumerate(sorted(partners[code].accounts, key=lambda a: a.reference)):
            account.owner = (user, user, admin, None)[n % 4]
    def language_of(partner) -> str:  # a Japanese reseller's people read the portal and its emails in Japanese
        return "en" if partner.name.isascii() else "ja"

    for code in ("HOKUTO", "KANSAI", "MINATO", "FUJISOL"):
        person(f"admin@{code.lower()}.example", f"{code.title()} Admin", Role.PARTNER_ADMIN, partners[code], language_of(partners[code]))
    # Every reseller has people to own its customers: an admin and one or two staff.
    for n, (code, partner) in enumerate(partners.items()):
        if code in staff:
            continue
        names = STAFF_JA if language_of(partner) == "ja" else STAFF_EN
        if code not in ("HOKUTO", "KANSAI", "MINATO", "FUJISOL"):
            person(f"admin@{code.lower()}.example", names[n % len(names)], Role.PARTNER_ADMIN, partner, language_of(partner))
        for k in range(1 + n % 2):
            person(f"staff{k + 1}@{code.lower()}.example", names[(n + k + 1) % len(names)], Role.PARTNER_USER, partner,
                   language_of(partner))
    session.flush()
    _add_reporting_history(session, rng, today)
    session.flush()
    _add_late_check_ins(session, seed, today)
    session.flush()
    _move_to_adoption(session, today)
    _assign_owners(session, seed)
    session.flush()
    _add_outcomes(session, seed, today)
    session.commit()
    return demo_logins()


def _add_accounts(session: Session, rng: random.Random, partner: Partner, japanese: bool, count: int, today: date) -> None:
    """Customers in onboarding; `_move_to_adoption` moves those whose go-live is done, as the portal would."""
    for n in range(1, count + 1):
        name_kana = None
        if japanese:
            prefix, kind = rng.choice(JA_PREFIXES), rng.choice(JA_KINDS)
            name, name_kana = f"株式会社{prefix}{kind}", f"{JA_PREFIX_READINGS[prefix]}{JA_KIND_READINGS[kind]}"
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
        status = LifecycleStatus.ONBOARDING
        churned_on = churn_reason = None
        if (today - contract_start).days >= 100 and rng.random() < 0.07:
            status = LifecycleStatus.CHURNED
            churned_on = renewal - timedelta(days=365)
            churn_reason = rng.choice(["予算削減", "担当者の異動", "競合製品へ移行"] if japanese
                                      else ["Budget cut", "Champion left", "Moved to a competitor"])
        # In the portal since it started a year ago (or since the contract, if later); a prospect's
        # customers were only just added.
        in_portal_since = (clock.end_of_day(today - timedelta(days=1)) if partner.status == PartnerStatus.PROSPECT else
                           datetime.combine(max(contract_start, today - timedelta(days=365)), time(0, 30), tzinfo=timezone.utc))
        if n % 7 == 0:
            name = f"{name} {'第' + str(n) + '事業部' if japanese else 'Division ' + str(n)}"
            name_kana = f"{name_kana}ダイ{n}ジギョウブ" if name_kana else None
        session.add(
            Account(
                partner=partner,
                reference=f"{partner.code[:3]}-{n:04d}",
                name=name,
                name_kana=name_kana,
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
                created_at=in_portal_since,
            )
        )


# A demo churn's reason text -> the vendor's listed reason it is.
CHURN_REASON_CODES = {"予算削減": "budget", "Budget cut": "budget", "担当者の異動": "other", "Champion left": "other",
                      "競合製品へ移行": "competitor", "Moved to a competitor": "competitor"}
MISSING_SHARE = 0.3  # of the live accounts whose last term ended in the last two months: not recorded yet


def _add_outcomes(session: Session, seed: int, today: date) -> None:
    """Every ended term of the demo's accounts has its recorded outcome: a renewal at each contract
    anniversary (mostly flat, some expanded or contracted, the ARR history to match) and, for the
    churned ones, the churn with its listed reason. A few resellers have not yet recorded the term
    that ended in the last two months (the "outcome missing" lists). Deterministic from the clock."""
    rng = random.Random(seed + 2)  # its own stream: the rest of the demo stays as it was
    reasons = {r.code: r.id for r in session.scalars(select(ChurnReason))}
    outcomes: list[dict] = []
    arr_rows: list[dict] = []
    now = clock.utcnow()
    for account in session.scalars(select(Account).order_by(Account.id)):
        assert account.contract_start is not None and account.renewal_date is not None
        ends = [account.contract_start + timedelta(days=365 * k) for k in range(1, 10)]
        churn_end = account.churned_on  # a demo churn falls on a contract anniversary (or, in the first year, its start)
        renewals = [day for day in ends if day < (churn_end or today)]
        if (account.churned_on is None and renewals and renewals[-1] > today - timedelta(days=60)
                and rng.random() < MISSING_SHARE):
            # The term that ended lately is not recorded yet: the account still shows that renewal date.
            account.renewal_date = renewals.pop()
        # The ARR at each renewal, walked back from today's: mostly flat, some expansion, some contraction.
        arr_after = account.arr_jpy
        steps = []
        for day in reversed(renewals):
            change = rng.random()
            factor = 1.0 if change < 0.7 else rng.choice([1.1, 1.2, 1.3]) if change < 0.9 else rng.choice([0.8, 0.9])
            arr_before = int(round(arr_after / factor, -3))
            steps.append((day, arr_before, arr_after))
            arr_after = arr_before
        for day, arr_before, arr_after in reversed(steps):
            outcomes.append({"account_id": account.id, "term_end": day, "kind": OutcomeKind.RENEWED,
                             "decided_on": day - timedelta(days=rng.randint(0, 30)), "new_renewal_date": day + timedelta(days=365),
                             "arr_before_jpy": arr_before, "arr_after_jpy": arr_after, "churn_reason_id": None, "note": None,
                             "inferred": False, "recorded_by_id": account.owner_id, "created_at": now})
            if arr_after != arr_before:
                arr_rows.append({"account_id": account.id, "effective_on": day, "arr_jpy": arr_after})
        if steps:  # the ARR the contract started with
            session.execute(update(AccountArr).where(AccountArr.account_id == account.id, AccountArr.effective_on == account.contract_start)
                            .values(arr_jpy=steps[-1][1]))
        if churn_end is not None:
            outcomes.append({"account_id": account.id, "term_end": churn_end, "kind": OutcomeKind.CHURNED, "decided_on": churn_end,
                             "new_renewal_date": None, "arr_before_jpy": account.arr_jpy, "arr_after_jpy": 0,
                             "churn_reason_id": reasons.get(CHURN_REASON_CODES.get(account.churn_reason or "", "other")),
                             "note": account.churn_reason, "inferred": False, "recorded_by_id": account.owner_id, "created_at": now})
    if outcomes:
        session.execute(insert(RenewalOutcome), outcomes)
    if arr_rows:
        session.execute(insert(AccountArr), arr_rows)


def _move_to_adoption(session: Session, today: date) -> None:
    """Accounts whose go-live milestone is done are in adoption since that day, as the milestone
    service would have moved them; the rest wait for go-live or the vendor's days (the aggregation)."""
    go_live = (
        select(Milestone.account_id, Milestone.completed_on)
        .join(MilestoneTemplate, MilestoneTemplate.id == Milestone.template_id)
        .where(MilestoneTemplate.marks_go_live.is_(True), Milestone.status == MilestoneStatus.DONE, Milestone.completed_on <= today)
    )
    done_on = {account_id: day for account_id, day in session.execute(go_live)}
    for account in session.scalars(select(Account).where(Account.status == LifecycleStatus.ONBOARDING, Account.id.in_(list(done_on)))):
        account.status, account.phase_reason, account.phase_changed_on = LifecycleStatus.ACTIVE, PhaseReason.GO_LIVE, done_on[account.id]


def _assign_owners(session: Session, seed: int) -> None:
    """Every customer has a person at its reseller who looks after it (items raised about it go to them)."""
    rng = random.Random(seed + 1)  # its own stream: the rest of the demo stays as it was
    people: dict[int, list[User]] = {}
    for user in session.scalars(select(User).where(User.partner_id.is_not(None)).order_by(User.id)):
        people.setdefault(user.partner_id, []).append(user)  # type: ignore[arg-type]
    for account in session.scalars(select(Account).order_by(Account.id)):
        staff = people.get(account.partner_id)
        if staff:  # every customer has someone; staff more often than the admin
            account.owner_id = rng.choice(staff + [u for u in staff if u.role == Role.PARTNER_USER]).id


# Per partner: how reliably it reports (share of periods with a check-in) and how rosy its
# own sentiment is compared with the customer's real state (the optimism check needs both kinds).
DILIGENCE = {"SAKURA": 0.9, "BLUEHARBOR": 0.95, "HOKUTO": 0.6, "KANSAI": 0.85, "MINATO": 0.75, "PACRIM": 0.5,
             "FUJISOL": 0.9, "TBN": 0.7, "KYUSHU": 0.55, "NLIT": 0.3, "AOBA": 0.0, "SETOUCHI": 0.8}
OPTIMISM = {"HOKUTO": 0.3, "PACRIM": 0.25, "KYUSHU": 0.2}
HISTORY_MONTHS = 12
STAFF_JA = ["松本 翔太", "井上 さくら", "木村 大輔", "林 美穂", "清水 拓也", "山口 彩"]
STAFF_EN = ["Sophie Turner", "James Walker", "Chloe Evans", "Ryan Mitchell", "Ava Collins", "Owen Price"]
STAKEHOLDERS_JA = ["山田 太郎", "鈴木 花子", "伊藤 誠", "渡辺 直子", "中村 翔", "小林 愛"]
STAKEHOLDERS_EN = ["Olivia Hart", "Noah Bennett", "Grace Kim", "Ethan Ross", "Mia Turner", "Lucas Gray"]
VOC_JA = [(VocKind.REQUEST, "レポート", "月次レポートをExcelで出力したい"), (VocKind.COMPLAINT, "モバイル", "スマホ画面の表示が遅い"),
          (VocKind.PRAISE, "ワークフロー", "承認フローで残業が減ったと好評"), (VocKind.REQUEST, "請求書", "請求書を自動でメール送信したい")]
VOC_EN = [(VocKind.REQUEST, "Reports", "Wants a monthly export to Excel"), (VocKind.COMPLAINT, "Mobile", "The phone app is slow"),
          (VocKind.PRAISE, "Workflow", "Approvals cut overtime, users love it"), (VocKind.REQUEST, "Invoicing", "Wants invoices emailed automatically")]


def _add_reporting_history(session: Session, rng: random.Random, today: date) -> None:
    """A year of check-ins, milestones and stakeholders, so every page and scorecard has data.

    Each account gets a hidden health that drifts month to month (falling before a churn); what
    the reseller reports follows it, with each partner's own diligence and optimism.
    """
    templates = list(session.scalars(select(MilestoneTemplate).order_by(MilestoneTemplate.position)))
    features = list(session.scalars(select(Feature).order_by(Feature.position)))
    accounts = session.scalars(select(Account).options(joinedload(Account.partner)).order_by(Account.id)).all()
    for account in accounts:
        partner = account.partner
        japanese = not partner.name.isascii()
        _add_milestones(session, rng, account, templates, today)
        names = STAKEHOLDERS_JA if japanese else STAKEHOLDERS_EN
        for role in rng.sample(list(StakeholderRole)[:3], rng.randint(1, 3)):
            session.add(Stakeholder(account_id=account.id, partner_id=partner.id, name=rng.choice(names), role=role,
                                    last_contact_on=today - timedelta(days=rng.randint(3, 120))))
        diligence, optimism = DILIGENCE.get(partner.code, 0.8), OPTIMISM.get(partner.code, 0.05)
        months = DEFAULT_CADENCES[account.segment]
        health = rng.uniform(0.35, 0.95)
        end = account.churned_on or today
        assert account.contract_start is not None  # every demo account has one (see above)
        period = period_containing(max(account.contract_start, today - timedelta(days=30 * HISTORY_MONTHS)), months)
        while period.end < end:
            if account.churned_on:
                health = max(0.05, health - rng.uniform(0.05, 0.2))
            else:
                health = min(1.0, max(0.05, health + rng.gauss(0, 0.08)))
            if rng.random() < diligence:
                check_in = _check_in(rng, account, period, health, optimism, features, japanese)
                if clock.day_of(check_in.submitted_at) < today:  # still in its grace days: not reported yet
                    session.add(check_in)
            period = period.next()
    session.flush()
    _answer_voice_of_customer(session, rng, today)


def _add_milestones(session: Session, rng: random.Random, account: Account, templates, today: date) -> None:
    slip = rng.choice([0, 0, 0, 5, 12, 30])  # some onboardings run late
    assert account.contract_start is not None  # every demo account has one
    for template in templates:
        if template.marks_go_live and account.reference.endswith("0"):
            continue  # some resellers never record go-live: the vendor's days after contract start move these
        planned = account.contract_start + timedelta(days=template.due_after_days)
        done_on = planned + timedelta(days=slip + rng.randint(-3, 6))
        if done_on <= today:
            status, completed = MilestoneStatus.DONE, done_on
        else:
            status, completed = (MilestoneStatus.IN_PROGRESS if planned <= today + timedelta(days=14) else MilestoneStatus.PLANNED), None
        session.add(Milestone(account_id=account.id, partner_id=account.partner_id, template_id=template.id,
                              status=status, planned_on=planned, completed_on=completed))


def _check_in(rng: random.Random, account: Account, period, health: float, optimism: float, features, japanese: bool) -> CheckIn:
    seen = min(1.0, health + optimism)  # what the reseller believes
    sentiment = Sentiment.GREEN if seen > 0.6 else Sentiment.YELLOW if seen > 0.35 else Sentiment.RED
    low = health < 0.4
    check_in = CheckIn(
        account_id=account.id, partner_id=account.partner_id, period_start=period.start, version=1,
        source=rng.choice([ReportSource.FORM, ReportSource.FILE, ReportSource.FILE, ReportSource.API]),
        submitted_at=datetime.combine(period.end + timedelta(days=rng.randint(1, 12)), time(0, 30), tzinfo=timezone.utc),
        active_users=max(0, min(account.seats, round(account.seats * (0.2 + 0.75 * health) + rng.randint(-2, 2)))),
        nps=max(0, min(10, round(3 + health * 7.5 + rng.gauss(0, 1.2)))) if rng.random() < 0.8 else None,
        csat=max(1.0, min(5.0, round(1 + health * 4 + rng.gauss(0, 0.5), 1))) if rng.random() < 0.6 else None,
        ces=max(1, min(7, round(7 - health * 5 + rng.gauss(0, 0.7)))) if rng.random() < 0.5 else None,
        open_tickets=rng.randint(0, 3) + (rng.randint(1, 6) if low else 0),
        open_escalations=(1 if low and rng.random() < 0.5 else 0),
        sentiment=sentiment,
        sentiment_reason=None if sentiment is Sentiment.GREEN else ("利用が伸び悩んでいる" if japanese else "Usage is flat"),
        outcome_progress=min(100, round(health * 100 * rng.uniform(0.6, 1.0))),
        renewal_likelihood=(RenewalLikelihood.LIKELY if seen > 0.6 else RenewalLikelihood.UNSURE if seen > 0.35
                            else RenewalLikelihood.UNLIKELY),
        expansion_jpy=rng.choice([0, 0, 0, 300_000, 1_200_000]) if health > 0.75 else 0,
        feature_adoptions=[CheckInFeature(feature=f, adoption_pct=100 if rng.random() < health else rng.choice((25, 50)))
                           for f in features if rng.random() < health],
    )
    if low:
        check_in.risks = [CheckInRisk(type=rng.choice([RiskType.LOW_USAGE, RiskType.BUDGET_CUT, RiskType.CHAMPION_LEFT, RiskType.COMPETITOR]),
                                      severity=Severity.HIGH if health < 0.2 else Severity.MEDIUM)]
    if rng.random() < 0.15:
        kind, area, text = rng.choice(VOC_JA if japanese else VOC_EN)
        check_in.voc_items = [VocItem(account_id=account.id, partner_id=account.partner_id, kind=kind, product_area=area, text=text)]
    return check_in


def aggregate_history(session: Session, today: date, weeks: int = 26) -> int:
    """Scorecards for every week of the last half year and each of the last 7 days, so trends show.

    Each night sees only the check-ins sent by then (the others wait, their period moved out of
    reach), so an overdue check-in raises its item and the item closes when the check-in arrives,
    as it would have; then people close some of the older items themselves."""
    days = sorted({today - timedelta(weeks=w) for w in range(weeks, 0, -1)} | {today - timedelta(days=d) for d in range(7, -1, -1)})
    waiting = {row.id: (row.period_start, clock.day_of(row.submitted_at)) for row in session.execute(
        select(CheckIn.id, CheckIn.period_start, CheckIn.submitted_at).where(CheckIn.submitted_at >= clock.end_of_day(days[0])))}
    _move_periods(session, {cid: _out_of_reach(start) for cid, (start, _sent) in waiting.items()})
    try:
        for day in days:
            arrived = {cid: start for cid, (start, sent) in waiting.items() if sent <= day}
            _move_periods(session, arrived)
            for cid in arrived:
                del waiting[cid]
            aggregate(session, day, trigger="cli")
    finally:
        _move_periods(session, {cid: start for cid, (start, _sent) in waiting.items()})
        session.commit()
    _people_close_items(session, today)
    _add_requests(session, today)
    _tick_steps(session, today)
    _add_notes(session, today)
    session.commit()
    return len(days)


# (kind, Japanese, English) of the calls and meetings people log on an account's timeline.
NOTES = [
    (NoteKind.CALL, "利用状況について担当者と電話。来月に追加トレーニングを希望。", "Call with the customer's admin about usage; they want more training next month."),
    (NoteKind.MEETING, "定例会。ダッシュボードの活用が進み、次の目標を合意。", "Quarterly review: dashboards are in daily use; next goal agreed."),
    (NoteKind.CALL, "更新について事前確認。予算は確保済みとのこと。", "Checked on the renewal ahead of time: the budget is approved."),
    (NoteKind.NOTE, "新任の情報システム部長に引き継ぎ済み。", "Handed over to the customer's new head of IT."),
]


def _add_notes(session: Session, today: date) -> None:
    """Calls and meetings logged on a fifth of the accounts by their owners, and a few by the
    partner manager: the timeline is where both sides keep them."""
    rng = random.Random(15)
    accounts = session.scalars(select(Account).options(joinedload(Account.partner).selectinload(Partner.managers))
                               .where(Account.owner_id.is_not(None), Account.status != LifecycleStatus.CHURNED)
                               .order_by(Account.id)).all()
    for n, account in enumerate(accounts):
        if n % 5:
            continue
        kind, ja, en = NOTES[rng.randrange(len(NOTES))]
        manager = account.partner.managers[0] if account.partner.managers and n % 3 == 0 else None
        author_id = manager.id if manager else account.owner_id
        happened_on = today - timedelta(days=rng.randint(1, 60))
        session.add(AccountNote(account_id=account.id, partner_id=account.partner_id, kind=kind, happened_on=happened_on,
                                participants=None, body=ja if not account.partner.name.isascii() else en, author_id=author_id,
                                created_at=datetime.combine(happened_on, time(8, 0), tzinfo=timezone.utc)))


def _out_of_reach(period_start: date) -> date:
    """Where a check-in not sent yet waits: its period two centuries back, which no rule asks about."""
    return period_start.replace(year=period_start.year - 200)


def _move_periods(session: Session, periods: dict[int, date]) -> None:
    if periods:
        session.execute(update(CheckIn), [{"id": cid, "period_start": start} for cid, start in periods.items()])
        session.commit()


LATE_NOTE = {True: "電話でご連絡し、報告をいただきました。", False: "Chased by phone; the report came in."}


def _add_late_check_ins(session: Session, seed: int, today: date) -> None:
    """Most periods a reseller missed are reported late after all (a reminder, a call): the
    overdue item that chased them closes when they arrive. Recent misses stay missing."""
    rng = random.Random(seed + 2)  # its own stream: the rest of the demo stays as it was
    features = list(session.scalars(select(Feature).order_by(Feature.position)))
    reported = {(account_id, start) for account_id, start in session.execute(select(CheckIn.account_id, CheckIn.period_start))}
    accounts = session.scalars(select(Account).options(joinedload(Account.partner)).order_by(Account.id)).all()
    for account in accounts:
        if account.partner.status == PartnerStatus.PROSPECT or account.contract_start is None:
            continue
        months = DEFAULT_CADENCES[account.segment]
        period = period_containing(max(account.contract_start, today - timedelta(days=30 * HISTORY_MONTHS)), months)
        end = account.churned_on or today
        while period.end < end:
            if (account.id, period.start) not in reported and rng.random() < 0.85:
                sent = period.end + timedelta(days=rng.randint(18, 50))
                if sent < today - timedelta(days=1) and sent >= clock.day_of(account.created_at):
                    check_in = _check_in(rng, account, period, rng.uniform(0.35, 0.9), 0.05, features, not account.partner.name.isascii())
                    check_in.submitted_at = datetime.combine(sent, time(1, 0), tzinfo=timezone.utc)
                    session.add(check_in)
            period = period.next()
    session.flush()
    assign_unassigned(session)  # their customers' words matched to the vendor's areas, as a submission's are


CLOSING_NOTES = {
    ActionKind.TURNED_RED: ("チャンピオンと回復計画を合意し、利用状況の確認会を予定しました。",
                            "Agreed a recovery plan with the champion; usage review booked."),
    ActionKind.RENEWAL_AT_RISK: ("更新条件を先方と確認し、稟議中です。", "Renewal terms confirmed with the customer; awaiting sign-off."),
    ActionKind.CHECK_IN_OVERDUE: ("担当者に確認し、次回から期限内に報告します。", "Spoke to the account team; reports will be on time from now on."),
}


def _people_close_items(session: Session, today: date) -> None:
    """The older items the portal did not close were closed by their owners with a note, as
    people do; about half of last month's stay open and overdue, to chase."""
    rng = random.Random(2027)
    old = session.scalars(select(ActionItem).options(joinedload(ActionItem.account).joinedload(Account.partner))
                          .where(ActionItem.status.in_(OPEN_ACTION_STATUSES), ActionItem.due_on < today - timedelta(days=10))
                          .order_by(ActionItem.id)).all()
    for item in old:
        if item.due_on and item.due_on >= today - timedelta(days=30) and rng.random() < 0.5:
            continue  # a month's worth left overdue, to chase
        japanese = not item.account.partner.name.isascii()
        closed_on = min(today, (item.due_on or today) + timedelta(days=rng.randint(-5, 3)))
        item.status, item.resolution = ActionStatus.DONE, CLOSING_NOTES[item.kind][0 if japanese else 1]
        item.closed_at = datetime.combine(closed_on, time(2, 0), tzinfo=timezone.utc)
        item.closed_by_id = item.owner_id
        session.add(ActionEvent(item_id=item.id, account_id=item.account_id, partner_id=item.partner_id, actor_id=item.owner_id,
                                event=ActionEventKind.STATUS_CHANGED, data={"from": "open", "to": "done"}, at=item.closed_at))
    session.commit()


# (title, Japanese title, note, Japanese note) per kind: what the vendor asks people to do.
PLAYBOOKS: dict[ActionKind, list[tuple[str, str, str | None, str | None]]] = {
    ActionKind.TURNED_RED: [
        ("Call the champion", "チャンピオン（推進担当者）に電話する",
         "Find out what changed: budget, people, or a problem with the product.", "予算・体制・製品の問題など、何が変わったかを確認します。"),
        ("Agree a recovery plan with a date", "期日を決めて回復プランを合意する",
         "One or two concrete actions the customer agrees to, and the day you review them together.",
         "顧客と合意した具体的な対策を1〜2点と、一緒に見直す日を決めます。"),
        ("Log the plan as an outcome", "プランを成果として記録する",
         "Write it in the next check-in's progress note so that both sides can follow it.", "次回ヘルスチェックの進捗メモに記入し、双方で追えるようにします。"),
    ],
    ActionKind.RENEWAL_AT_RISK: [
        ("Confirm the renewal date and who decides", "更新日と決裁者を確認する", None, None),
        ("Review usage and value with the customer", "利用状況と効果を顧客と振り返る",
         "Bring the latest scorecard: active users and the outcomes reached.", "最新のスコアカード（アクティブユーザー数と達成した成果）を用意します。"),
        ("Record the renewal likelihood in the check-in", "ヘルスチェックに更新見込みを記録する", None, None),
    ],
    ActionKind.CHECK_IN_OVERDUE: [
        ("Ask the customer for this period's figures", "今期の数値を顧客に確認する",
         "Active users, open tickets and how the customer feels are enough to report.", "アクティブユーザー数・未解決の問い合わせ・顧客の様子があれば報告できます。"),
        ("Submit the check-in", "ヘルスチェックを提出する", None, None),
    ],
    ActionKind.REQUEST: [
        ("Agree what is asked and by when", "依頼内容と期日を確認する", None, None),
        ("Do it and comment with the result", "対応し、結果をコメントに書く", None, None),
    ],
}


def _add_playbooks(session: Session) -> None:
    for kind, steps in PLAYBOOKS.items():
        session.add(Playbook(kind=kind, steps=[PlaybookStep(position=n, title=title, title_ja=title_ja, note=note, note_ja=note_ja)
                                               for n, (title, title_ja, note, note_ja) in enumerate(steps, start=1)]))
    session.flush()


# What partner managers ask of resellers: (Japanese, English) titles, days since asked, days until due.
REQUESTS = [
    (("新しい利用部門向けにトレーニングを実施してください", "Please run a training session for the new users"), 20, -4),
    (("更新前に利用状況のレビュー会を設定してください", "Please book a usage review before the renewal"), 6, 10),
    (("管理者向け機能の活用状況を確認してください", "Please check how the admin features are used"), 40, -25),
]


def _add_requests(session: Session, today: date) -> None:
    """Each partner manager asks a few of their resellers for something: one overdue, one on
    its way, one done with a note; each copies the request playbook's steps."""
    from portal.actions.services import ItemInput, create_item

    accounts = session.scalars(select(Account).options(joinedload(Account.partner).selectinload(Partner.managers))
                               .where(Account.owner_id.is_not(None), Account.status != LifecycleStatus.CHURNED)
                               .order_by(Account.partner_id, Account.id)).all()
    first_of: dict[int, Account] = {}
    for account in accounts:
        first_of.setdefault(account.partner_id, account)
    for account in list(first_of.values())[:6]:
        if not account.partner.managers:
            continue
        manager, japanese = account.partner.managers[0], not account.partner.name.isascii()
        for n, ((ja, en), asked_days_ago, due_in) in enumerate(REQUESTS):
            asked = datetime.combine(today - timedelta(days=asked_days_ago), time(1, 30), tzinfo=timezone.utc)
            item = create_item(session, account, ItemInput(ja if japanese else en, None, account.owner_id,
                                                           today + timedelta(days=due_in)), manager)
            item.created_at = asked
            for event in session.scalars(select(ActionEvent).where(ActionEvent.item_id == item.id)):
                event.at = asked
            if n == 2:  # done a while ago, with the owner's note
                item.status, item.closed_by_id = ActionStatus.DONE, account.owner_id
                item.resolution = "確認し、来月から管理者研修を実施します。" if japanese else "Checked; admin training starts next month."
                item.closed_at = asked + timedelta(days=12)
                session.add(ActionEvent(item_id=item.id, account_id=item.account_id, partner_id=item.partner_id,
                                        actor_id=account.owner_id, event=ActionEventKind.STATUS_CHANGED,
                                        data={"from": "open", "to": "done"}, at=item.closed_at))
    session.flush()


def _tick_steps(session: Session, today: date) -> None:
    """Two open items in three under way: their first steps ticked by the account's owner (else a
    user of its partner) a day after the item opened, never later than this morning."""
    users: dict[int | None, User] = {}
    for user in session.scalars(select(User).where(User.partner_id.is_not(None), User.active.is_(True)).order_by(User.id)):
        users.setdefault(user.partner_id, user)
    morning = datetime.combine(today, time(9, 0), tzinfo=timezone.utc)
    items = session.scalars(select(ActionItem).where(ActionItem.status.in_(OPEN_ACTION_STATUSES), ActionItem.steps.any())
                            .options(joinedload(ActionItem.account).joinedload(Account.owner), selectinload(ActionItem.steps)).order_by(ActionItem.id))
    for item in items:
        person = item.account.owner or users.get(item.partner_id)
        if person is None or item.id % 3 == 0:
            continue
        for step in item.steps[:1 + item.id % 2]:
            step.done_by_id, step.done_at = person.id, min(item.created_at + timedelta(days=1), morning)
            session.add(ActionEvent(item_id=item.id, account_id=item.account_id, partner_id=item.partner_id, actor_id=person.id,
                                    event=ActionEventKind.STEP_DONE, data={"step_id": step.id, "position": step.position},
                                    at=step.done_at))


# The vendor's answers to older voice-of-the-customer items, by status, in the reseller's language.
VOC_ANSWERS = {
    VocStatus.ACKNOWLEDGED: ("ありがとうございます。製品チームで検討しています。", "Thank you: the product team is looking at it."),
    VocStatus.PLANNED: ("次の半期リリースで対応予定です。", "On the roadmap for the next half-year release."),
    VocStatus.SHIPPED: ("最新リリースで提供しました。リリースノートをご覧ください。", "Available since the latest release; see the release notes."),
    VocStatus.DECLINED: ("製品の方向性と合わないため見送ります。回避策をヘルプセンターに掲載しています。",
                         "Not planned: it does not fit the product's direction. The help centre shows a workaround."),
}


def _answer_voice_of_customer(session: Session, rng: random.Random, today: date) -> None:
    """Areas matched as a submission matches them; items older than a month answered by a partner
    manager (some still new, and the unknown areas left for the vendor to map)."""
    assign_unassigned(session)
    manager = session.scalar(select(User).where(User.role == Role.PARTNER_MANAGER).order_by(User.id).limit(1))
    rows = session.execute(select(VocItem, CheckIn.submitted_at, Partner.name).join(CheckIn, CheckIn.id == VocItem.check_in_id)
                           .join(Partner, Partner.id == VocItem.partner_id).order_by(VocItem.id)).all()
    for item, submitted_at, partner_name in rows:
        if submitted_at.date() > today - timedelta(days=30) or rng.random() < 0.2:
            continue
        item.status = rng.choice([VocStatus.ACKNOWLEDGED, VocStatus.ACKNOWLEDGED, VocStatus.PLANNED, VocStatus.SHIPPED, VocStatus.DECLINED])
        item.answer = VOC_ANSWERS[item.status][0 if not partner_name.isascii() else 1]
        item.answered_at = min(submitted_at + timedelta(days=rng.randint(2, 20)), datetime.combine(today, time(9, 0), tzinfo=timezone.utc))
        item.answered_by_id = manager.id if manager else None
