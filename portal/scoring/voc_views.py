"""The voice-of-the-customer inbox: every request, complaint and praise the resellers passed on,
filtered by kind, status, product area, partner and segment, counted by area, status and kind in
SQL, paged in SQL, exported as CSV or Excel. Vendor staff answer an item here; a reseller reads
the same pages for its own customers only, with the vendor's answers."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from portal.accounts import partners as partner_service
from portal.core import fragments
from portal.core.exports import table_response
from portal.core.formatting import local_name
from portal.core.history import readable_changes
from portal.core.labels import choices, label
from portal.core.lists import InvalidArgument, ListArgs, count_bound, paginate
from portal.core.scoping import one_or_404, visible_to
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required
from portal.models import (
    VENDOR_ROLES, Account, ChangeLog, CheckIn, Partner, ProductArea, Segment, VocItem, VocKind, VocStatus,
)
from portal.reporting import voc
from portal.scoring import bp
from portal.scoring.forms import VocAnswerForm

EXPORT_LIMIT = 50_000


class Filters:
    """The inbox's filters from the query string; a value that names nothing answers 400."""

    def __init__(self, areas: list[ProductArea]):
        args = ListArgs()
        self.kind, self.status, self.segment = args.choice("kind", VocKind), args.choice("status", VocStatus), args.choice("segment", Segment)
        self.partner_id, self.query = args.id("partner_id"), args.text("q")
        self.area = args.text("area").lower() or None
        self.area_id: int | None = None
        if self.area and self.area != voc.UNASSIGNED:
            found = next((a for a in areas if a.key == self.area), None)
            if found is None:
                raise InvalidArgument("area", _("one of %(options)s", options=", ".join([*(a.key for a in areas), voc.UNASSIGNED])), self.area)
            self.area_id = found.id

    def statement(self, *, facets: bool = True) -> Select:
        """The in-force items the user may see that pass every filter; facets=False leaves out the
        area, status and kind filters (the counts apply those themselves, see _counts)."""
        stmt = visible_to(current_user, VocItem).where(voc.in_force())
        if self.kind and facets:
            stmt = stmt.where(VocItem.kind == self.kind)
        if self.status and facets:
            stmt = stmt.where(VocItem.status == self.status)
        if self.area and facets:
            stmt = stmt.where(VocItem.product_area_id.is_(None) if self.area == voc.UNASSIGNED else VocItem.product_area_id == self.area_id)
        if self.segment:
            stmt = stmt.join(Account, Account.id == VocItem.account_id).where(Account.segment == self.segment)
        if self.partner_id:
            stmt = stmt.where(VocItem.partner_id == self.partner_id)
        if self.query:
            stmt = stmt.where(VocItem.text.ilike(f"%{self.query}%"))
        return stmt

    def rows(self) -> Select:
        """Newest first. The check-in's id breaks ties of its submission time (a file's check-ins
        share one), so the first page walks an index on (submitted_at, id) and stops after a page."""
        stmt = self.statement().join(CheckIn, CheckIn.id == VocItem.check_in_id)
        if not self.segment:
            stmt = stmt.join(Account, Account.id == VocItem.account_id)
        return (
            stmt.join(Partner, Partner.id == VocItem.partner_id)
            .with_only_columns(VocItem, Account.name.label("account_name"), Account.segment, Partner.name.label("partner_name"),
                               CheckIn.period_start, CheckIn.submitted_at)
            .order_by(CheckIn.submitted_at.desc(), CheckIn.id.desc(), VocItem.id.desc())
        )


FACETS = {"area": VocItem.product_area_id, "status": VocItem.status, "kind": VocItem.kind}


def _counts(db, filters: Filters, bound: int) -> tuple[dict[str, dict] | None, int, bool]:
    """Items per area, status and kind, and the number the list shows, from one GROUP BY over the
    three facets (a few dozen rows whatever the number of items): a facet's counts leave out its
    own filter and keep the other two, the list's total keeps all three.
    Bounded, so that the page costs the same however many items there are: the GROUP BY reads no
    more than `bound` + 1 items. Past that no facet count is exact (None) and the total is a
    bounded count too, (total, True): the page says "more than" rather than read every item's text."""
    found = filters.statement(facets=False).with_only_columns(*FACETS.values()).order_by(None).limit(bound + 1).subquery()
    cube = db.execute(select(*found.c, func.count()).group_by(*found.c)).all()
    if sum(n for *_values, n in cube) > bound:
        if not any(getattr(filters, facet) for facet in FACETS):  # the cube's items are the list's
            return None, bound, True
        listed = filters.statement().with_only_columns(VocItem.id).order_by(None).limit(bound + 1).subquery()
        total = db.scalar(select(func.count()).select_from(listed)) or 0
        return None, min(total, bound), total > bound
    chosen = {"area": (lambda v: v is None) if filters.area == voc.UNASSIGNED else (lambda v: v == filters.area_id),
              "status": lambda v: v == filters.status, "kind": lambda v: v == filters.kind}
    active = {facet: test for facet, test in chosen.items() if getattr(filters, facet)}
    counts: dict[str, dict] = {facet: {} for facet in FACETS}
    total = 0
    for *values, n in cube:
        keys = dict(zip(FACETS, values, strict=True))
        passing = {facet for facet, test in active.items() if test(keys[facet])}
        for facet in FACETS:
            if not (active.keys() - {facet}) - passing:  # every other chosen facet lets the row through
                counts[facet][keys[facet]] = counts[facet].get(keys[facet], 0) + n
        if passing == active.keys():
            total += n
    return counts, total, False


def _facet_links(facet: str, counts: dict | None, options: list[tuple[str, str, object]]) -> list[dict]:
    """The count links of one facet: (filter value, label, count key) per option, with counts
    (None: not counted, more items than a bounded count reads)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    links = []
    for value, text, key in options:
        chosen = args.get(facet, "").lower() == value
        target = {k: v for k, v in args.items() if k != facet} if chosen else {**args, facet: value}
        links.append({"label": text, "count": None if counts is None else counts.get(key, 0), "chosen": chosen, "url": url_for("scoring.voc_inbox", **target)})
    return links


@bp.get("/voice-of-customer")
@login_required
def voc_inbox():
    """The inbox, kept rendered until the data of the partners it lists changes (portal.core.fragments.page)."""

    def body() -> Markup:
        db = get_session()
        areas = voc.product_areas(db)
        filters = Filters(areas)
        counted, total, capped = _counts(db, filters, count_bound(ListArgs().page(), current_app.config["PORTAL"].page_size))
        page = paginate(db, filters.rows(), rows=True, total=total, capped=capped, key=VocItem.id)  # ids first: a narrow sort
        counts: Mapping[str, dict | None] = counted if counted is not None else dict.fromkeys(FACETS)
        facets = {
            "area": _facet_links("area", counts["area"], [(a.key, local_name(a), a.id) for a in areas
                                                          if a.active or (counts["area"] or {}).get(a.id)]
                                 + [(voc.UNASSIGNED, _("Unassigned"), None)]),
            "status": _facet_links("status", counts["status"], [(s.value, label(s), s) for s in VocStatus]),
            "kind": _facet_links("kind", counts["kind"], [(k.value, label(k), k) for k in VocKind]),
        }
        partners = partner_service.names(db, current_user) if current_user.is_vendor else []
        area_options = [{"value": a.key, "label": local_name(a)} for a in areas] + [{"value": voc.UNASSIGNED, "label": _("Unassigned")}]
        return Markup(render_template("scoring/_voc_inbox_body.html", page=page, facets=facets, area_options=area_options,
                                      partners=partners, kinds=choices(VocKind), statuses=choices(VocStatus),
                                      segments=choices(Segment), args=request.args))

    partner_id = None if current_user.is_vendor else current_user.partner_id
    return render_template("scoring/voc_inbox.html", body=fragments.page("voc_inbox", partner_id, body))


@bp.get("/voice-of-customer.<fmt>")
@login_required
def voc_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        return Response(status=404)
    db = get_session()
    rows = db.execute(Filters(voc.product_areas(db)).rows().limit(EXPORT_LIMIT)).all()
    headers = [_("Submitted"), _("Partner"), _("Account"), _("Segment"), _("Kind"), _("Product area"), _("Area as written"),
               _("Status"), _("Vendor's answer"), _("Answered"), _("What the customer said")]
    data = [[r.submitted_at.strftime("%Y-%m-%d"), r.partner_name, r.account_name, label(r.segment), label(r.VocItem.kind),
             local_name(r.VocItem.area) if r.VocItem.area else _("Unassigned"), r.VocItem.product_area or "", label(r.VocItem.status),
             r.VocItem.answer or "", r.VocItem.answered_at.strftime("%Y-%m-%d") if r.VocItem.answered_at else "", r.VocItem.text]
            for r in rows]
    return table_response(headers, data, "voice-of-customer", fmt)


def _answer_form(db, item: VocItem) -> VocAnswerForm:
    form = VocAnswerForm(data={"status": item.status.value, "answer": item.answer or "", "product_area_id": str(item.product_area_id or "")})
    next_statuses = [item.status, *sorted(voc.TRANSITIONS[item.status], key=list(VocStatus).index)]
    form.status.choices = [SelectChoice(s.value, label(s)) for s in next_statuses]
    form.product_area_id.choices = [SelectChoice("", _("Unassigned"))] + [
        SelectChoice(str(a.id), local_name(a)) for a in voc.product_areas(db) if a.active or a.id == item.product_area_id]
    return form


def _item_page(db, item: VocItem, form: VocAnswerForm | None = None):
    history = list(db.scalars(select(ChangeLog).options(joinedload(ChangeLog.user))
                              .where(ChangeLog.entity == "voc_item", ChangeLog.entity_id == item.id)
                              .order_by(ChangeLog.changed_at.desc(), ChangeLog.id.desc())))
    form = form or _answer_form(db, item)
    return render_template("scoring/voc_item.html", item=item, form=form,
                           history=[(entry, readable_changes(entry)) for entry in history]), (400 if form.errors else 200)


def _item(db, voc_id: int) -> VocItem:
    return one_or_404(db, visible_to(current_user, VocItem).options(
        joinedload(VocItem.check_in).joinedload(CheckIn.account).joinedload(Account.partner), joinedload(VocItem.area), joinedload(VocItem.answered_by)), voc_id)


@bp.get("/voice-of-customer/<int:voc_id>")
@login_required
def voc_item(voc_id: int):
    """One item: what was said, where the vendor stands and who answered when (both sides)."""
    db = get_session()
    return _item_page(db, _item(db, voc_id))


@bp.post("/voice-of-customer/<int:voc_id>")
@roles_required(*VENDOR_ROLES)
def voc_answer(voc_id: int):
    """Vendor staff set the status, the answer the reseller reads, and the product area."""
    db = get_session()
    item = _item(db, voc_id)
    form = _answer_form(db, item)
    if form.validate_on_submit():
        try:
            changed = voc.answer(db, item, form.data, actor=current_user)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            if changed:
                flash(_("Saved. The reseller sees the status and your answer."), "success")
            return redirect(url_for("scoring.voc_item", voc_id=item.id))
    return _item_page(db, item, form)
