"""Backtests and fitted weights of the health model (#17): the numbers on a hand-made case, the fit
on a generated population whose churn depends on known components, its refusals, its folds, the
job, the CLI and the Health model page."""
from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from bench.fit import generate
from portal.models import AccountScore, HealthModel, ModelFit, OutcomeKind, RenewalOutcome, Role
from portal.scoring import backtest, fit
from portal.scoring.health import ModelSpec
from tests import factories
from tests.pages import parse
from tests.readback import latest

DECIDED = date(2026, 9, 30)
USAGE_ONLY = ModelSpec(version=9, weights={"onboarding": {"usage": 100}, "adoption": {"usage": 100}}, green_min=70, yellow_min=55)


def snapshot(db, account, day, **components):
    db.add(AccountScore(day=day, account_id=account.id, partner_id=account.partner_id, model_version=0, onboarding_phase=False,
                        arr_jpy=account.arr_jpy, seats=account.seats, capped=False, stale=False, milestones_due=0,
                        milestones_on_time=0, **components))


def outcome(db, account, churned: bool, decided_on=DECIDED, inferred=False):
    db.add(RenewalOutcome(account_id=account.id, term_end=decided_on, decided_on=decided_on, inferred=inferred,
                          kind=OutcomeKind.CHURNED if churned else OutcomeKind.RENEWED,
                          new_renewal_date=None if churned else decided_on + timedelta(days=365),
                          arr_before_jpy=1_000_000, arr_after_jpy=0 if churned else 1_000_000))


@pytest.fixture
def hand_made(db):
    """Five outcomes judged by usage alone: churned at 20 and 60, renewed at 40, 80 and 90. Each
    account also has a snapshot too close to its outcome (30 days) and an older one (100 days):
    the one 70 days before is the latest in the 60-120 window, so it is the one judged."""
    partner = factories.partner(db)
    for usage, churned in ((20, True), (40, False), (60, True), (80, False), (90, False)):
        account = factories.account(db, partner)
        snapshot(db, account, DECIDED - timedelta(days=30), usage=0 if not churned else 100)
        snapshot(db, account, DECIDED - timedelta(days=70), usage=usage)
        snapshot(db, account, DECIDED - timedelta(days=100), usage=100 - usage)
        outcome(db, account, churned)
    guessed = factories.account(db, partner)
    snapshot(db, guessed, DECIDED - timedelta(days=70), usage=10)
    outcome(db, guessed, False, inferred=True)
    db.commit()


def test_backtest_numbers_on_a_hand_made_case(db, hand_made, monkeypatch):
    monkeypatch.setattr(backtest, "MIN_CHURNED", 2)
    monkeypatch.setattr(backtest, "MIN_RENEWED", 2)
    (report,) = backtest.backtest(db, backtest.Settings(), [USAGE_ONLY])
    assert (report["outcomes"], report["churned"], report["renewed"]) == (5, 2, 3)
    # churned below renewed in 5 of the 6 (churned, renewed) pairs: 60 is above 40
    assert report["auc"] == pytest.approx(5 / 6)
    bands = {b["band"]: (b["outcomes"], b["churned"]) for b in report["bands"]}
    assert bands == {"green": (2, 0), "yellow": (1, 1), "red": (2, 1), None: (0, 0)}
    assert report["churn_rate_pct"] == pytest.approx(40.0)
    assert report["red_lift"] == pytest.approx(50 / 40)  # red churns at 50 %, the channel at 40 %
    assert report["components"]["usage"] == pytest.approx(5 / 6)
    assert report["components"]["satisfaction"] is None  # no data at all
    assert report["inferred_left_out"] == 1
    assert [d["churn_rate_pct"] for d in report["calibration"]][:2] == [100.0, 0.0]  # usage 20 churned, 40 renewed

    (with_guesses,) = backtest.backtest(db, backtest.Settings(include_inferred=True), [USAGE_ONLY])
    assert (with_guesses["outcomes"], with_guesses["inferred_left_out"]) == (6, 0)


def test_below_the_minimum_the_backtest_says_not_enough_outcomes(db, hand_made):
    (report,) = backtest.backtest(db, backtest.Settings(), [USAGE_ONLY])
    assert report["outcomes"] == 5
    assert (report["auc"], report["red_lift"], report["churn_rate_pct"], report["calibration"]) == (None, None, None, [])
    assert report["bands"][2]["outcomes"] == 2  # counts are shown, rates of a handful are not figures


@pytest.fixture
def population(db):
    """3,000 accounts whose churn depends on usage (strong), satisfaction (medium), effort (weak)."""
    return generate(db, 3000, seed=7)


def test_the_fit_recovers_the_order_of_the_signals_and_beats_the_default_on_held_out_accounts(db, population):
    result = fit.propose(db, backtest.Settings())
    adoption = result["weights"]["adoption"]
    assert sum(adoption.values()) == 100 and min(adoption.values()) >= 0
    assert adoption["usage"] > adoption["satisfaction"] > adoption["effort"]
    noise = [adoption[name] for name in ("onboarding", "sentiment_score", "outcome", "freshness")]
    assert adoption["effort"] > max(noise)
    onboarding = result["weights"]["onboarding"]
    assert sum(onboarding.values()) == 100 and max(onboarding, key=onboarding.get) == "usage"
    cv = result["cv"]
    assert cv["folds"] == fit.FOLDS
    assert cv["fitted_auc"] > cv["current_auc"] + 0.03
    # The proposal is backtested with the aggregation's own scoring, beside the current model
    assert result["backtest"]["proposed"]["auc"] > result["backtest"]["current"]["auc"]
    components = result["backtest"]["current"]["components"]
    assert components["usage"] > components["satisfaction"] > components["effort"] > components["freshness"]
    # The red band reaches the target multiple of the channel's churn rate, where the data allow
    red = next(b for b in result["backtest"]["proposed"]["bands"] if b["band"] == "red")
    assert red["churn_rate_pct"] >= 2.0 * result["backtest"]["proposed"]["churn_rate_pct"]
    assert model_count(db) == 0  # a proposal, nothing saved


def test_the_folds_never_put_one_account_in_both_train_and_test(db, population):
    data = fit.Data.of(backtest.pull(db, backtest.Settings(), [ModelSpec(version=0)]))
    assert len(np.unique(data.account_id)) < len(data.account_id)  # some accounts have two outcomes
    splits = fit.folds(data.account_id)
    assert len(splits) == fit.FOLDS
    for train, test in splits:
        assert not set(data.account_id[train]) & set(data.account_id[test])
    assert sorted(np.concatenate([test for _train, test in splits]).tolist()) == list(range(len(data.account_id)))


def test_with_too_few_outcomes_the_fit_refuses_with_a_clear_message(db, hand_made):
    with pytest.raises(fit.NotEnoughOutcomes) as refusal:
        fit.propose(db, backtest.Settings())
    assert str(refusal.value) == ("Not enough outcomes to fit: 2 churned and 3 renewed with a snapshot 60-120 days before "
                                  "(at least 30 of each are needed).")


def test_the_cli_fits_and_records_the_fit_in_the_job_history(db, population, runner):
    result = runner.invoke(args=["model", "fit", "--phase", "adoption", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["status"] == "done" and printed["phase"] == "adoption"
    assert printed["kept"] == {"onboarding": "not asked"}
    assert printed["weights"]["onboarding"] == printed["current_weights"]["onboarding"]
    row = latest(db).scalar(select(ModelFit))
    assert (row.trigger, row.status, row.outcomes) == ("cli", "done", printed["outcomes"])


def test_the_cli_refuses_with_too_few_outcomes(db, hand_made, runner):
    result = runner.invoke(args=["model", "fit"])
    assert result.exit_code == 2
    assert "Not enough outcomes to fit: 2 churned and 3 renewed" in result.output
    assert latest(db).scalar(select(ModelFit.status)) == "refused"


def test_the_job_history_lists_the_fits(db, browser, tenants, hand_made, runner):
    runner.invoke(args=["model", "fit"])
    html = browser(tenants.vendor_admin).get("/jobs").get_data(as_text=True)
    section = html.split('id="model-fits"', 1)[1].split("</table>", 1)[0]
    assert "command line" in section and "refused" in section


def form_data(page) -> dict:
    return {name: values[0] for name, values in page.values.items() if name != "phase"}


def model_count(db) -> int:
    return latest(db).scalar(select(func.count()).select_from(HealthModel))


def test_a_fit_from_the_page_is_a_job_and_its_proposal_a_draft_the_admin_edits_and_saves(db, browser, tenants, population, app):
    admin = browser(tenants.vendor_admin)
    response = admin.post("/health-model/fit", data={"phase": ""})
    assert response.status_code == 302
    assert parse(admin.get("/health-model")).flash_texts("success") == [
        "Fit queued: the scheduler runs it within a minute; this page shows the proposal when it is done."]
    assert latest(db).scalar(select(ModelFit.status)) == "queued"
    page = admin.get("/health-model").get_data(as_text=True)
    assert "queued: waiting for the scheduler" in page and 'http-equiv="refresh"' in page
    assert admin.post("/health-model/fit", data={"phase": ""}).status_code == 302  # a second one is not queued
    assert latest(db).scalar(select(func.count()).select_from(ModelFit)) == 1

    done = fit.run_queued(db, backtest.Settings.of(app.config["PORTAL"]))
    assert [row.status for row in done] == ["done"]
    fit_id = done[0].id
    html = admin.get("/health-model").get_data(as_text=True)
    assert f"Proposal from fit #{fit_id}" in html
    assert "Ranks churn (ROC AUC; 0.50 is a coin toss)" in html and "<svg" in html
    assert model_count(db) == 0  # nothing changes by itself

    proposal = done[0].result
    form = parse(admin.get(f"/health-model?fit={fit_id}"))
    assert form.value("adoption__usage") == str(proposal["weights"]["adoption"]["usage"])
    assert form.value("yellow_min") == str(proposal["yellow_min"])
    assert form.value("note") == f"Proposed by fit {fit_id} from {proposal['outcomes']} outcomes"

    preview = admin.post("/health-model", data=form_data(form) | {"action": "preview"})
    assert preview.status_code == 200
    assert "Backtest on recorded outcomes" in preview.get_data(as_text=True)
    saved = admin.post("/health-model", data=form_data(form) | {"action": "save"})
    assert saved.status_code == 302
    assert latest(db).scalar(select(HealthModel.weights)) == proposal["weights"]


def test_the_page_says_why_a_fit_was_refused_in_english_and_japanese(db, browser, tenants, hand_made, app):
    admin = browser(tenants.vendor_admin)
    admin.post("/health-model/fit", data={"phase": "adoption"})
    (row,) = fit.run_queued(db, backtest.Settings.of(app.config["PORTAL"]))
    assert row.status == "refused"
    english = admin.get("/health-model", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Not enough outcomes to fit: 2 churned and 3 renewed" in english
    japanese_admin = browser(factories.user(db, Role.VENDOR_ADMIN, language="ja"))
    japanese = japanese_admin.get("/health-model").get_data(as_text=True)
    assert "結果から重みを提案" in japanese
    assert "学習に必要な結果が足りません" in japanese


def test_the_proposal_renders_in_japanese(db, browser, population, app):
    row = fit.run_now(db, backtest.Settings.of(app.config["PORTAL"]), None, None)
    assert row.status == "done"
    japanese_admin = browser(factories.user(db, Role.VENDOR_ADMIN, language="ja"))
    html = japanese_admin.get("/health-model").get_data(as_text=True)
    assert f"フィット #{row.id} の提案" in html
    assert "解約の順位付け" in html


@pytest.mark.parametrize("role", [Role.PARTNER_MANAGER, Role.PARTNER_ADMIN, Role.PARTNER_USER])
def test_only_the_vendor_admin_may_fit(db, browser, tenants, role):
    response = browser(tenants.by_role(role)).post("/health-model/fit", data={"phase": ""})
    assert response.status_code == 403
    assert latest(db).scalar(select(func.count()).select_from(ModelFit)) == 0


def test_an_unknown_phase_is_a_clear_400(db, browser, tenants):
    response = browser(tenants.vendor_admin).post("/health-model/fit", data={"phase": "everything"})
    assert response.status_code == 400
    assert latest(db).scalar(select(func.count()).select_from(ModelFit)) == 0


def test_the_scheduler_job_runs_a_queued_fit(db, tenants, hand_made, app):
    from portal.scheduler import run_fits

    fit.request_fit(db, tenants.vendor_admin.id, None)
    db.commit()
    run_fits(app)
    row = latest(db).scalar(select(ModelFit))
    assert (row.status, row.result["refused"]["churned"], row.result["refused"]["renewed"]) == ("refused", 2, 3)
    assert row.started_at is not None and row.finished_at is not None


def test_the_page_shows_how_the_running_model_ranks_recorded_outcomes_and_follows_new_ones(db, browser, tenants, hand_made):
    admin = browser(tenants.vendor_admin)
    html = admin.get("/health-model").get_data(as_text=True)
    assert "How the built-in defaults rank recorded outcomes" in html
    # Usage alone is below the defaults' data-needed share: each outcome is judged "without a score" (the inferred one left out).
    assert "5 without a score" in html
    assert "not enough outcomes" in html  # 2 churned, 3 renewed: no AUC from a handful

    account = factories.account(db, factories.partner(db))  # one more churn recorded: shown at once, not the kept figure
    snapshot(db, account, DECIDED - timedelta(days=70), usage=10)
    outcome(db, account, True)
    db.commit()
    assert "6 without a score" in admin.get("/health-model").get_data(as_text=True)

    japanese = browser(factories.user(db, Role.VENDOR_ADMIN, language="ja")).get("/health-model").get_data(as_text=True)
    assert "初期設定による記録済み結果の順位付け" in japanese and "スコアなし 6件" in japanese
