"""The vendor admin's health model (weights, thresholds, preview) and the aggregation job history."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.scoring import insights
from portal.admin import bp
from portal.scoring import review, tiers
from portal.admin.forms import health_model_form_class, tier_rules_form_class
from portal.scoring import aggregation, backtest, fit
from portal.models import ModelFit
from portal.scoring.aggregation import latest_day
from portal.scoring.health import COMPONENT_LABELS, COMPONENTS, PHASES, ModelSpec, SupportThresholds, current_model, preview, save_model
from portal.models import Role, Segment
from portal.core.labels import label
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
        form.tickets_ok.data, form.tickets_bad.data = model.support.tickets_ok, model.support.tickets_bad
        form.escalations_ok.data, form.escalations_bad.data = model.support.escalations_ok, model.support.escalations_bad
        for phase in PHASES:
            for name in COMPONENTS:
                form[f"{phase}__{name}"].data = model.weights[phase].get(name, 0)
    shown = _shown_fit(db, request.args.get("fit", type=int))
    if request.method == "GET" and shown is not None and request.args.get("fit"):
        # "Edit this proposal": the form holds the proposal, to preview, change and save (never saved by itself).
        proposal = shown.result or {}
        form.green_min.data, form.yellow_min.data = proposal["green_min"], proposal["yellow_min"]
        for phase in PHASES:
            for name in COMPONENTS:
                form[f"{phase}__{name}"].data = proposal["weights"][phase].get(name, 0)
        form.note.data = _("Proposed by fit %(id)d from %(outcomes)d outcomes", id=shown.id, outcomes=proposal["outcomes"])
    result = check = backtests = None
    if form.validate_on_submit():
        weights = {phase: {name: form[f"{phase}__{name}"].data or 0 for name in COMPONENTS} for phase in PHASES}
        # A threshold left blank keeps the running model's value.
        support = SupportThresholds(*(form[name].data if form[name].data is not None else getattr(model.support, name)
                                      for name in ("tickets_ok", "tickets_bad", "escalations_ok", "escalations_bad")))
        empty = [phase for phase in PHASES if not sum(weights[phase].values())]
        if support.tickets_bad <= support.tickets_ok or support.escalations_bad <= support.escalations_ok:
            form.form_errors.append(_("Each support load's no-marks value must be above its full-marks value."))
        elif empty:
            form.form_errors.append(_("Each set needs at least one weight above zero."))
        elif request.form.get("action") == "save":
            row = save_model(db, weights, form.green_min.data, form.yellow_min.data, current_user.id,
                             (form.note.data or "").strip() or None, min_coverage_pct=form.min_coverage_pct.data, support=support)
            db.commit()
            flash(_("Health model version %(version)d saved: the next aggregation uses it.", version=row.version), "success")
            return redirect(url_for("admin.health_model"))
        else:
            proposed = ModelSpec(version=model.version + 1, weights=weights, green_min=form.green_min.data,
                                 yellow_min=form.yellow_min.data, min_coverage_pct=form.min_coverage_pct.data, support=support)
            result = preview(db, today(), model, proposed)
            settings = backtest.Settings.of(current_app.config["PORTAL"])
            backtests = dict(zip(("current", "proposed"), backtest.backtest(db, settings, [model, proposed]), strict=True))
            day = latest_day(db)
            if day:
                check = {"current": insights.model_check(db, day, model), "proposed": insights.model_check(db, day, proposed)}
    running = None
    if result is None and (shown is None or (shown.result or {}).get("model_version") != model.version):
        # The running model's backtest beside its weights (a proposal for it already shows it).
        running = backtest.running(db, backtest.Settings.of(current_app.config["PORTAL"]), model)
    versions = review.model_versions(db)
    fits = fit.history(db, limit=5)
    return render_template("admin/health_model.html", form=form, model=model, phases=PHASES, components=COMPONENTS,
                           preview=result, check=check, versions=versions, backtests=backtests, running=running, fits=fits, shown=shown,
                           waiting=any(f.status in ("queued", "running") for f in fits),
                           refusal=fit.refusal_message, component_labels=COMPONENT_LABELS,
                           segment_labels={s.value: label(s) for s in Segment},
                           config_lead=(current_app.config["PORTAL"].outcome_lead_min_days,
                                        current_app.config["PORTAL"].outcome_lead_max_days)), (400 if form.errors or form.form_errors else 200)


def _shown_fit(db, fit_id: int | None) -> ModelFit | None:
    """The proposal the page shows: the one asked for, else the latest finished fit."""
    if fit_id is not None:
        row = db.get(ModelFit, fit_id)
        return row if row is not None and row.status == "done" else None
    return fit.latest_done(db)


@bp.post("/health-model/fit")
@roles_required(Role.VENDOR_ADMIN)
def health_model_fit():
    """"Propose weights from outcomes": queued for the scheduler process (a fit cross-validates
    on every recorded outcome: a job, not a request)."""
    db = get_session()
    phase = request.form.get("phase") or None
    if phase not in (None, *PHASES):
        abort(400, description=_("phase: choose onboarding, adoption or both."))
    row, new = fit.request_fit(db, current_user.id, phase)
    db.commit()
    if new:
        flash(_("Fit queued: the scheduler runs it within a minute; this page shows the proposal when it is done."), "success")
    else:
        flash(_("A fit is already queued or running."), "info")
    return redirect(url_for("admin.health_model") + "#fit")


@bp.get("/jobs")
@roles_required(Role.VENDOR_ADMIN)
def jobs():
    db = get_session()
    runs = review.job_history(db)
    timing = aggregation.Timing.of(current_app.config["PORTAL"])
    requests = aggregation.recent_requests(db)
    fits = fit.history(db, limit=10)
    return render_template("admin/jobs.html", runs=runs, latest=latest_day(db), requests=requests,
                           abandoned=aggregation.abandoned_run_ids(db, timing), fits=fits,
                           waiting=any(r.status in ("queued", "running") for r in [*requests, *fits]))


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
