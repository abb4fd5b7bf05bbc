"""The vendor admin's health model (weights, thresholds, preview) and the aggregation job history."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.scoring import insights
from portal.admin import bp
from portal.scoring import review, tiers
from portal.admin.forms import health_model_form_class, tier_rules_form_class
from portal.scoring import aggregation
from portal.scoring.aggregation import latest_day
from portal.scoring.health import COMPONENTS, PHASES, ModelSpec, current_model, preview, save_model
from portal.models import Role
from portal.core.permissions import can
from portal.core.web import get_session, roles_required, today



@bp.route("/health-model", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def health_model():
    db = get_session()
    model = current_model(db)
    form = health_model_form_class()()
    if request.method == "GET":
        form.green_min.data, form.yellow_min.data = model.green_min, model.yellow_min
        form.min_coverage_pct.data = model.min_coverage_pct
        for phase in PHASES:
            for name in COMPONENTS:
                form[f"{phase}__{name}"].data = model.weights[phase].get(name, 0)
    result = check = None
    if form.validate_on_submit():
        weights = {phase: {name: form[f"{phase}__{name}"].data or 0 for name in COMPONENTS} for phase in PHASES}
        empty = [phase for phase in PHASES if not sum(weights[phase].values())]
        if empty:
            form.form_errors.append(_("Each set needs at least one weight above zero."))
        elif request.form.get("action") == "save":
            row = save_model(db, weights, form.green_min.data, form.yellow_min.data, current_user.id,
                             (form.note.data or "").strip() or None, min_coverage_pct=form.min_coverage_pct.data)
            db.commit()
            flash(_("Health model version %(version)d saved: the next aggregation uses it.", version=row.version), "success")
            return redirect(url_for("admin.health_model"))
        else:
            proposed = ModelSpec(version=model.version + 1, weights=weights, green_min=form.green_min.data,
                                 yellow_min=form.yellow_min.data, min_coverage_pct=form.min_coverage_pct.data)
            result = preview(db, today(), model, proposed)
            day = latest_day(db)
            if day:
                check = {"current": insights.model_check(db, day, model), "proposed": insights.model_check(db, day, proposed)}
    versions = review.model_versions(db)
    return render_template("admin/health_model.html", form=form, model=model, phases=PHASES, components=COMPONENTS,
                           preview=result, check=check, versions=versions), (400 if form.errors or form.form_errors else 200)


@bp.get("/jobs")
@roles_required(Role.VENDOR_ADMIN)
def jobs():
    db = get_session()
    runs = review.job_history(db)
    timing = aggregation.Timing.of(current_app.config["PORTAL"])
    requests = aggregation.recent_requests(db)
    return render_template("admin/jobs.html", runs=runs, latest=latest_day(db), requests=requests,
                           abandoned=aggregation.abandoned_run_ids(db, timing),
                           waiting=any(r.status in ("queued", "running") for r in requests))


@bp.post("/jobs/run")
@roles_required(Role.VENDOR_ADMIN, Role.PARTNER_MANAGER)
def run_aggregation_now():
    """Today's scorecards soon (after a batch of reports), from the job page or the channel page.
    Queued for the scheduler process, which runs it within seconds: never inside this request,
    which a run of several minutes holding the database's write lock would time out."""
    db = get_session()
    request_row, new = aggregation.request_run(db, today(), current_user.id)
    db.commit()
    if new:
        flash(_("Aggregation for %(day)s queued: the scheduler runs it within a minute; Job history shows its progress.",
                day=request_row.day.isoformat()), "success")
    else:
        flash(_("An aggregation for %(day)s is already queued or running.", day=request_row.day.isoformat()), "info")
    return redirect(url_for("admin.jobs") if can("admin.jobs") else url_for("scoring.channel"))


@bp.route("/rules/tiers", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def tier_rules():
    db = get_session()
    form = tier_rules_form_class()()
    current = tiers.rules(db)
    if request.method == "GET":
        for tier in tiers.RANKED_TIERS:
            for figure in tiers.TIER_FIGURES:
                form[f"{tier.value}__{figure}"].data = current.get(tier, {}).get(figure)
    if form.validate_on_submit():
        tiers.save_rules(db, actor=current_user, thresholds={tier: {figure: (float(form[f"{tier.value}__{figure}"].data)
                                              if form[f"{tier.value}__{figure}"].data is not None else None)
                                     for figure in tiers.TIER_FIGURES} for tier in tiers.RANKED_TIERS})
        db.commit()
        flash(_("Tier thresholds saved."), "success")
        return redirect(url_for("admin.tier_rules"))
    day = latest_day(db)
    movers = tiers.movers(db, day) if day else []
    return render_template("admin/tier_rules.html", form=form, ranked=tiers.RANKED_TIERS, figures=tiers.TIER_FIGURES,
                           movers=movers, has_rules=any(current.values())), (400 if form.errors else 200)
