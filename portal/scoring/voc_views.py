"""The voice-of-the-customer inbox: every request, complaint and praise the resellers passed on,
filtered by kind, product area, partner and segment, paged in SQL, exported as CSV or Excel."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func

from portal.accounts import partners as partner_service
from portal.core.labels import choices, label
from portal.models import Account, CheckIn, Partner, Segment, VocItem, VocKind
from portal.scoring import bp
from portal.core.scoping import visible_to
from portal.core.exports import table_response
from portal.core.lists import ListArgs, paginate
from portal.core.web import get_session

EXPORT_LIMIT = 50_000


def _filtered():
    """The inbox statement for the request's filters, scoped to what the user may see."""
    stmt = (
        visible_to(current_user, VocItem)
        .join(Account, Account.id == VocItem.account_id)
        .join(Partner, Partner.id == VocItem.partner_id)
        .join(CheckIn, CheckIn.id == VocItem.check_in_id)
        .with_only_columns(VocItem, Account.name.label("account_name"), Account.segment, Partner.name.label("partner_name"),
                           CheckIn.period_start, CheckIn.submitted_at)
    )
    args = ListArgs()
    kind, segment, area = args.choice("kind", VocKind), args.choice("segment", Segment), args.text("area")
    partner_id, query = args.id("partner_id"), args.text("q")
    if kind:
        stmt = stmt.where(VocItem.kind == kind)
    if segment:
        stmt = stmt.where(Account.segment == segment)
    if area:
        stmt = stmt.where(func.lower(VocItem.product_area) == area.lower())
    if partner_id:
        stmt = stmt.where(VocItem.partner_id == partner_id)
    if query:
        stmt = stmt.where(VocItem.text.ilike(f"%{query}%"))
    return stmt.order_by(CheckIn.submitted_at.desc(), VocItem.id.desc())


@bp.get("/voice-of-customer")
@login_required
def voc_inbox():
    db = get_session()
    page = paginate(db, _filtered(), rows=True)
    areas = db.scalars(visible_to(current_user, VocItem).with_only_columns(VocItem.product_area).distinct()
                       .where(VocItem.product_area.is_not(None)).order_by(VocItem.product_area)).all()
    partners = partner_service.names(db, current_user)
    return render_template("scoring/voc_inbox.html", page=page, areas=areas, partners=partners,
                           kinds=choices(VocKind), segments=choices(Segment), args=request.args)


@bp.get("/voice-of-customer.<fmt>")
@login_required
def voc_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        return Response(status=404)
    rows = get_session().execute(_filtered().limit(EXPORT_LIMIT)).all()
    headers = [_("Submitted"), _("Partner"), _("Account"), _("Segment"), _("Kind"), _("Product area"), _("What the customer said")]
    data = [[r.submitted_at.strftime("%Y-%m-%d"), r.partner_name, r.account_name, label(r.segment), label(r.VocItem.kind),
             r.VocItem.product_area or "", r.VocItem.text] for r in rows]
    return table_response(headers, data, "voice-of-customer", fmt)
