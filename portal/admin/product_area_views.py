"""The vendor's product areas for the voice of the customer (vendor admin), beside the other
reporting rules: the list with how many items each area holds, and one form to add or edit."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.admin import bp
from portal.admin.forms import ProductAreaForm
from portal.core.scoping import one_or_404
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required
from portal.models import ProductArea, Role, VocItem
from portal.reporting import voc


@bp.get("/rules/product-areas")
@roles_required(Role.VENDOR_ADMIN)
def product_areas():
    db = get_session()
    counts = dict(db.execute(select(VocItem.product_area_id, func.count())
                                .where(voc.in_force()).group_by(VocItem.product_area_id)).all())
    return render_template("admin/product_areas.html", areas=voc.product_areas(db), counts=counts)


@bp.route("/rules/product-areas/new", methods=["GET", "POST"], defaults={"area_id": None})
@bp.route("/rules/product-areas/<int:area_id>", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def product_area_edit(area_id: int | None):
    db = get_session()
    area = one_or_404(db, select(ProductArea), area_id) if area_id is not None else None
    form = ProductAreaForm(obj=area)
    if request.method == "GET" and area is not None:
        form.aliases.data = ", ".join(area.aliases or [])
    if form.validate_on_submit():
        try:
            voc.save_product_area(db, form.data, area, actor=current_user)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            flash(_("Saved. Unassigned items written with these words now belong to the area."), "success")
            return redirect(url_for("admin.product_areas"))
    return render_template("admin/product_area_form.html", form=form, area=area), (400 if form.errors else 200)
