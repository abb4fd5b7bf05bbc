"""The channel at a given size, generated on PostgreSQL with set-based SQL (INSERT … SELECT
generate_series): partners, their people, accounts, a year of check-ins by each segment's
cadence, milestones, ARR, voice-of-customer items, and the accounts' owners spread over the partner's people.

Shape: accounts/200 partners (500 at 100k); the largest partner ("P1") holds an eighth of the
accounts, all high touch (monthly check-ins), so it can send a 10,000-row file; every partner has
an admin and enough users that at least 1,000 people get weekly emails. The vendor admin and
the partner manager (who manages every partner) use the demo logins and password.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import text
from werkzeug.security import generate_password_hash

from bench.common import DAY, NOW, PASSWORD

VENDOR_ADMIN = "admin@vendor.example"
MANAGER = "manager@vendor.example"
VOC_TEXTS = ["Needs a CSV export of the monthly report", "Export to Excel drops the Japanese names",
             "Dashboards load slowly on Monday mornings", "Would like single sign-on for the field team",
             "The mobile app is a pleasure to use", "Please add an export of the audit trail",
             "Approval workflow needs a second approver", "Support answered within the hour"]


@dataclass
class Shape:
    accounts: int

    @property
    def partners(self) -> int:
        return max(2, self.accounts // 200)

    @property
    def largest(self) -> int:
        """Accounts of the largest partner, P1: enough for a 10,000-row file at 10k accounts too."""
        return max(1, self.accounts // 8)

    @property
    def people_per_partner(self) -> int:
        return max(2, ceil(1000 / self.partners))


def admin_email(partner: int) -> str:
    return f"admin@p{partner}.example"


def generate(session, accounts: int) -> dict:
    """Fill an empty, migrated database; returns the counts of what it made."""
    from portal.reporting.reference_data import ensure_defaults

    shape = Shape(accounts)
    ensure_defaults(session)
    params = {"n": accounts, "partners": shape.partners, "largest": shape.largest, "people": shape.people_per_partner,
              "now": NOW.replace(tzinfo=None), "day": DAY, "texts": VOC_TEXTS,
              "hash": generate_password_hash(PASSWORD, method="scrypt")}  # hashed once, shared by everyone
    for statement in STATEMENTS:
        session.execute(text("SELECT setseed(0.16)"))
        session.execute(text(statement), params)
    session.commit()
    session.execute(text("ANALYZE"))  # a live database has statistics (autovacuum keeps them)
    session.commit()
    counts = {}
    for table in ("partners", "users", "accounts", "check_ins", "milestones", "voc_items"):
        counts[table] = session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    return counts


STATEMENTS = [
    """INSERT INTO partners (name, code, tier, status, imports_create_accounts, created_at, updated_at)
       SELECT 'Partner ' || k, 'P' || k, (ARRAY['platinum','gold','silver','registered'])[1 + k % 4], 'active', false, :now, :now
       FROM generate_series(1, :partners) k""",
    """INSERT INTO users (email, display_name, password_hash, role, partner_id, active, session_token, created_at)
       VALUES ('admin@vendor.example', 'Vendor admin', :hash, 'vendor_admin', NULL, true, md5(random()::text), :now),
              ('manager@vendor.example', 'Partner manager', :hash, 'partner_manager', NULL, true, md5(random()::text), :now)""",
    """INSERT INTO partner_managers (partner_id, user_id)
       SELECT p.id, u.id FROM partners p, users u WHERE u.email = 'manager@vendor.example'""",
    # Person 1 of each partner is its admin, the others partner users.
    """INSERT INTO users (email, display_name, password_hash, role, partner_id, active, session_token, created_at)
       SELECT CASE WHEN j = 1 THEN 'admin@p' || k || '.example' ELSE 'user' || j || '@p' || k || '.example' END,
              'Person ' || j || ' of P' || k, :hash, CASE WHEN j = 1 THEN 'partner_admin' ELSE 'partner_user' END,
              p.id, true, md5(random()::text || k || '-' || j), :now
       FROM partners p JOIN generate_series(1, :partners) k ON p.code = 'P' || k CROSS JOIN generate_series(1, :people) j""",
    """INSERT INTO accounts (partner_id, reference, name, segment, seats, arr_jpy, contract_start, renewal_date, status,
                             owner_id, created_at, updated_at)
       SELECT p.id, 'R' || lpad(n::text, 7, '0'), 'Customer ' || n,
              CASE WHEN n <= :largest THEN 'high_touch'
                   ELSE (ARRAY['high_touch','high_touch','low_touch','low_touch','low_touch',
                               'tech_touch','tech_touch','tech_touch','tech_touch','tech_touch'])[1 + n % 10] END,
              s.seats, (1 + floor(random() * 50))::int * 100000, s.start,
              s.start + 365 * ((:day - s.start) / 365 + 1), CASE WHEN n % 20 = 0 THEN 'onboarding' ELSE 'active' END,
              CASE WHEN n % 5 != 0 THEN (SELECT id FROM users u WHERE u.email = CASE WHEN n % :people = 0
                   THEN 'admin@' || lower(p.code) || '.example' ELSE 'user' || (1 + n % :people) || '@' || lower(p.code) || '.example' END)
              END,
              :now, :now
       FROM generate_series(1, :n) n
       CROSS JOIN LATERAL (SELECT (ARRAY[10, 50, 200])[1 + n % 3] AS seats,
                                  :day - (30 + floor(random() * 870))::int AS start) s
       JOIN partners p ON p.code = 'P' || CASE WHEN n <= :largest THEN 1 ELSE 2 + n % (:partners - 1) END""",
    """INSERT INTO account_arr_history (account_id, effective_on, arr_jpy) SELECT id, contract_start, arr_jpy FROM accounts""",
    # A year of check-ins, one per period of the segment's cadence (periods start in April: the
    # Japanese fiscal year), for the periods that have ended; one account in four has not sent its
    # latest yet (overdue: reminders go out). An account's health (0-1) drives its figures, so some turn red.
    """INSERT INTO check_ins (account_id, partner_id, period_start, version, source, submitted_at, active_users, nps,
                             open_tickets, open_escalations, sentiment, expansion_jpy, outcome_progress)
       SELECT a.id, a.partner_id, ps, 1, 'file', LEAST(ps + make_interval(months => c.months, days => 5), :now),
              round(a.seats * (0.2 + 0.8 * h.v * random()))::int, LEAST(10, floor(h.v * 8 + random() * 3))::int,
              floor((1 - h.v) * 4 * random())::int, CASE WHEN h.v < 0.2 AND random() < 0.5 THEN 1 ELSE 0 END,
              CASE WHEN h.v + random() * 0.3 < 0.4 THEN 'red' WHEN h.v + random() * 0.3 < 0.7 THEN 'yellow' ELSE 'green' END,
              0, floor(h.v * 100)::int
       FROM accounts a
       JOIN reporting_cadences c ON c.segment = a.segment
       CROSS JOIN LATERAL (SELECT 0.15 + 0.85 * sqrt(((a.id * 2654435761) % 1000) / 1000.0) AS v) h
       CROSS JOIN LATERAL generate_series(1, 12) m
       CROSS JOIN LATERAL (SELECT (date_trunc('month', CAST(:day AS date)) - make_interval(months => m))::date AS ps) p
       WHERE ((extract(month FROM ps)::int + 8) % c.months) = 0 AND ps >= date_trunc('month', a.contract_start)
         AND ps + make_interval(months => c.months) <= date_trunc('month', CAST(:day AS date))
         AND NOT (a.id % 4 = 0 AND ps + make_interval(months => 2 * c.months) > date_trunc('month', CAST(:day AS date)))""",
    """INSERT INTO milestones (account_id, partner_id, template_id, status, planned_on, completed_on, updated_at)
       SELECT a.id, a.partner_id, t.id, CASE WHEN a.contract_start + t.due_after_days < :day - 14 THEN 'done' ELSE 'planned' END,
              a.contract_start + t.due_after_days,
              CASE WHEN a.contract_start + t.due_after_days < :day - 14
                   THEN a.contract_start + t.due_after_days + (floor(random() * 22) - 2)::int END, :now
       FROM accounts a CROSS JOIN milestone_templates t WHERE t.active""",
    """INSERT INTO voc_items (check_in_id, account_id, partner_id, kind, text, status)
       SELECT c.id, c.account_id, c.partner_id, (ARRAY['request','complaint','praise'])[1 + c.id % 3],
              (CAST(:texts AS text[]))[1 + (c.id / 7) % 8], 'new'
       FROM check_ins c WHERE c.id % 7 = 0""",
]
