"""The audit log page and its export: a vendor admin sees every event, a partner admin its own
partner's (the same page, scoped by core.scoping). Times in the viewer's time zone."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, render_template, request
from flask_babel import format_datetime, gettext as _, lazy_gettext as _l
from flask_login import current_user

from portal.accounts import partners as partner_service
from portal.audit import bp, services
from portal.audit.models import AuditAction, AuditEvent
from portal.core import clock
from portal.core.exports import table_response
from portal.core.history import FIELDS
from portal.core.labels import label, labelled
from portal.core.lists import ListArgs, paginate
from portal.core.web import get_session, roles_required
from portal.models import PartnerStatus, PartnerTier, Role

EXPORT_LIMIT = 50_000

ACTION_LABELS: dict[AuditAction, Any] = {
    AuditAction.LOGIN: _l("Logged in"),
    AuditAction.LOGIN_FAILED: _l("Login refused"),
    AuditAction.LOGOUT: _l("Logged out"),
    AuditAction.USER_CREATED: _l("User created"),
    AuditAction.USER_UPDATED: _l("User edited"),
    AuditAction.ROLE_CHANGED: _l("Role changed"),
    AuditAction.USER_DEACTIVATED: _l("User deactivated"),
    AuditAction.USER_REACTIVATED: _l("User reactivated"),
    AuditAction.PARTNER_CREATED: _l("Partner created"),
    AuditAction.PARTNER_UPDATED: _l("Partner edited"),
    AuditAction.PARTNER_SETTINGS_CHANGED: _l("Partner settings changed"),
    AuditAction.TOKEN_CREATED: _l("API token created"),
    AuditAction.TOKEN_REVOKED: _l("API token revoked"),
    AuditAction.CADENCE_CHANGED: _l("Reporting cadence changed"),
    AuditAction.FEATURE_CREATED: _l("Key feature created"),
    AuditAction.FEATURE_UPDATED: _l("Key feature edited"),
    AuditAction.MILESTONE_TEMPLATE_CREATED: _l("Onboarding milestone created"),
    AuditAction.MILESTONE_TEMPLATE_UPDATED: _l("Onboarding milestone edited"),
    AuditAction.TIER_RULES_CHANGED: _l("Tier thresholds changed"),
    AuditAction.HEALTH_MODEL_SAVED: _l("Health model saved"),
    AuditAction.ACCOUNT_CREATED: _l("Account created"),
    AuditAction.ACCOUNT_UPDATED: _l("Account edited"),
    AuditAction.PRODUCT_AREA_CREATED: _l("Product area created"),
    AuditAction.PRODUCT_AREA_UPDATED: _l("Product area edited"),
    AuditAction.PLAYBOOK_SAVED: _l("Playbook saved"),
    AuditAction.CHURN_REASON_SAVED: _l("Churn reason saved"),
}

# Field names in the detail, as people read them (others show as stored).
FIELD_LABELS: dict[str, Any] = {
    "name": _l("Name"), "code": _l("Partner code"), "tier": _l("Tier"), "managers": _l("Partner managers"),
    "email": _l("Email"), "display_name": _l("Display name"), "role": _l("Role"), "partner_id": _l("Partner"),
    "active": _l("Active (can log in)"), "language": _l("Language"), "password": _l("Password"),
    "imports_create_accounts": _l("Files and the API may create accounts"), "reason": _l("Reason"), "via": _l("Source"),
    "note": _l("Note"), "steps": _l("Steps"), "label_en": _l("Label in English"), "label_ja": _l("Label in Japanese"),
    "position": _l("Order"), "offered": _l("Offered to resellers"),
}
REASONS = {"unknown_email": _l("unknown email"), "wrong_password": _l("wrong password"), "inactive": _l("inactive login"),
           "throttled": _l("too many failed logins")}
ENUM_FIELDS: dict[tuple[str | None, str], Any] = {
    ("partners", "tier"): PartnerTier, ("partners", "status"): PartnerStatus, ("users", "role"): Role,
}


# What a partner admin's log can hold (the rest is vendor-wide): the choices of its action filter.
PARTNER_ACTIONS = {
    AuditAction.LOGIN, AuditAction.LOGIN_FAILED, AuditAction.LOGOUT, AuditAction.USER_CREATED, AuditAction.USER_UPDATED,
    AuditAction.ROLE_CHANGED, AuditAction.USER_DEACTIVATED, AuditAction.USER_REACTIVATED, AuditAction.PARTNER_CREATED,
    AuditAction.PARTNER_UPDATED, AuditAction.PARTNER_SETTINGS_CHANGED, AuditAction.TOKEN_CREATED, AuditAction.TOKEN_REVOKED,
    AuditAction.ACCOUNT_CREATED, AuditAction.ACCOUNT_UPDATED,
}


def action_label(action: AuditAction) -> str:
    return str(ACTION_LABELS.get(action, action.value))


def _shown(event: AuditEvent, field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    enum_cls = ENUM_FIELDS.get((event.target_type, field))
    if enum_cls is not None and value in enum_cls._value2member_map_:
        return label(enum_cls(value))
    if field == "reason" and value in REASONS:
        return str(REASONS[value])
    return str(value)


def describe(event: AuditEvent) -> list[tuple[str, str | None, str]]:
    """(field, before or None for a plain fact, after) of the event's detail, for people."""
    account_fields = FIELDS["account"] if event.target_type == "accounts" else {}
    found: list[tuple[str, str | None, str]] = []
    for field, value in event.changes.items():
        title = account_fields[field][0] if field in account_fields else FIELD_LABELS.get(field, field)
        if isinstance(value, list) and len(value) == 2:
            found.append((str(title), _shown(event, field, value[0]), _shown(event, field, value[1])))
        else:
            found.append((str(title), None, _shown(event, field, value)))
    return found


def detail_text(event: AuditEvent) -> str:
    return "; ".join(labelled(title, after if before is None else f"{before} → {after}") for title, before, after in describe(event))


class _Args(ListArgs):
    def day(self, name: str) -> date | None:
        raw = self.text(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self._bad(name, _("a date such as 2026-12-01"))


def _filters() -> services.Filters:
    """The page's filters from the query string; dates are whole days in the viewer's time zone."""
    args = _Args()
    zone = current_user.time_zone or clock.vendor_time_zone()
    start, end = args.day("from"), args.day("to")
    return services.Filters(
        actor_id=args.id("actor_id"), partner_id=args.id("partner_id"), action=args.choice("action", AuditAction),
        start=clock.end_of_day(start - timedelta(days=1), zone) if start else None,
        end=clock.end_of_day(end, zone) if end else None, text=args.text("q"),
    )


@bp.get("/audit")
@roles_required(Role.VENDOR_ADMIN, Role.PARTNER_ADMIN)
def events():
    db = get_session()
    page = paginate(db, services.events_visible_to(current_user, _filters()), rows=True)
    return render_template(
        "audit/events.html", page=page, args=request.args, describe=describe, action_label=action_label,
        actions=[{"value": a.value, "label": action_label(a)} for a in AuditAction if current_user.is_vendor or a in PARTNER_ACTIONS],
        actors=services.actors_visible_to(db, current_user),
        partners=partner_service.names(db, current_user) if current_user.is_vendor else [],
    )


@bp.get("/audit.<fmt>")
@roles_required(Role.VENDOR_ADMIN, Role.PARTNER_ADMIN)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = get_session().execute(services.events_visible_to(current_user, _filters()).limit(EXPORT_LIMIT)).all()
    headers = [_("When"), _("Who"), _("Partner"), _("Action"), _("Concerning"), _("What changed"), _("Address")]
    data = [[format_datetime(r.AuditEvent.occurred_at, "yyyy-MM-dd HH:mm:ss"), r.AuditEvent.actor_label or _("System"),
             r.partner_name or "", action_label(r.AuditEvent.action), r.AuditEvent.target_label or "", detail_text(r.AuditEvent),
             r.AuditEvent.client_address or ""] for r in rows]
    return table_response(headers, data, "audit-log", fmt)
