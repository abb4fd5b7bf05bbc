"""Channel success portal: the application factory."""
from __future__ import annotations

import functools
import importlib
from datetime import timedelta

from flask import Flask, g, has_request_context, redirect, request, session as http_session, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.core.config import PROJECT_ROOT, Config
from portal.core.db import make_engine
from portal.core.errors import register_errorhandlers
from portal.core.extensions import babel, csrf, login_manager
from portal.core.inputs import register_input_checks
from portal.core.security import register_security_headers
from portal.models import make_session_factory

# Each language the portal speaks, by its own name (the settings' choice, the outbox's message).
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
LANGUAGES = tuple(LANGUAGE_NAMES)


def create_app(config: Config | None = None) -> Flask:
    config = (config or Config.from_env()).resolved()
    app = Flask(
        __name__,
        instance_path=str(config.instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(
        PORTAL=config,
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        WTF_CSRF_ENABLED=config.csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,
        # An upload larger than the import limit (plus the form around it) is refused before it is read.
        MAX_CONTENT_LENGTH=config.import_max_bytes + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=config.remember_days),
        BABEL_DEFAULT_LOCALE=config.default_language,
        BABEL_DEFAULT_TIMEZONE=config.default_timezone,
    )
    if config.proxy_count:
        # Behind a proxy every request comes from the proxy: without this, one address would
        # collect every failed login of every user. Only as many hops as there are proxies are trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_count, x_proto=config.proxy_count)  # type: ignore[method-assign]
    register_database(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_input_checks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_database(app: Flask, config: Config) -> None:
    engine = make_engine(config.database_url)
    app.extensions["portal.engine"] = engine
    app.extensions["portal.sessionmaker"] = make_session_factory(engine)

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the CLI and the scheduler: the default language (emails force the reader's)
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    if http_session.get("language") in LANGUAGES:
        return http_session["language"]
    return request.accept_languages.best_match(LANGUAGES) or "en"


def select_timezone() -> str | None:
    """Times on pages in the viewer's own zone (My profile → email preferences); else the default."""
    if has_request_context() and current_user and current_user.is_authenticated and current_user.time_zone in _zones():
        return current_user.time_zone
    return None


@functools.cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def register_extensions(app: Flask) -> None:
    from portal.auth.loader import load_user

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")


# Each area's routes live in these modules and attach to the area's blueprint when imported.
VIEW_MODULES = (
    "portal.auth.views", "portal.accounts.views", "portal.reporting.report_views", "portal.reporting.import_views",
    "portal.scoring.views", "portal.scoring.voc_views", "portal.actions.views", "portal.admin.views",
    "portal.admin.health_views", "portal.admin.email_views", "portal.api.views", "portal.audit.views",
    "portal.admin.product_area_views", "portal.timeline.views", "portal.admin.playbook_views", "portal.actions.step_views",
    "portal.renewals.views",
)


def register_blueprints(app: Flask) -> None:
    from portal import accounts, actions, admin, api, audit, auth, renewals, reporting, scoring, timeline
    from portal.core.web import IdConverter

    for module in VIEW_MODULES:
        importlib.import_module(module)
    app.url_map.converters["int"] = IdConverter
    for area in (auth, accounts, reporting, scoring, actions, admin, api, audit, timeline, renewals):
        app.register_blueprint(area.bp)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.is_vendor:  # the channel's scorecard: what changed and who needs attention (first in the menu)
            return redirect(url_for("scoring.channel"))
        return redirect(url_for("reporting.home"))


def register_template_helpers(app: Flask) -> None:
    from portal.actions import services as actions
    from portal.actions.resolve import event_resolution, shown_resolution
    from portal.core import formatting
    from portal.core import labels
    from portal.scoring import figures
    from portal.email.digests import weekly_kinds
    from portal.core.permissions import can
    from portal.renewals import services as renewals
    from portal.core import templating

    templating.install(app)  # translation calls that do not copy the template's context each time
    app.jinja_env.filters.update(
        yen=formatting.yen, date=formatting.local_date, datetime=formatting.local_datetime,
        pct=formatting.pct, number=formatting.number, local_name=formatting.local_name,
        item_title=actions.shown_title, item_resolution=shown_resolution, figure=figures.shown, stored_moment=formatting.stored_moment,
    )
    from portal.core.lists import query_args
    from portal.core.web import row_url

    app.jinja_env.globals.update(
        label=labels.label, label_band=labels.label_band, languages=LANGUAGES, query_args=query_args, get_locale=formatting.get_locale,
        can=can, weekly_kinds=weekly_kinds, figure_change=figures.shown_change,
        event_resolution=event_resolution, row_url=row_url, sparkline_points=formatting.sparkline_points, band_segments=formatting.band_segments,
        outcome_change=renewals.change_label, outcome_change_label=renewals.shown_change, reason_label=renewals.reason_label,
    )


def register_commands(app: Flask) -> None:
    from portal.cli import register

    register(app)
