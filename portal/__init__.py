"""Channel success portal: the application factory."""
from __future__ import annotations

from flask import Flask, g, redirect, request, session as http_session, url_for
from flask_login import current_user

from portal.config import PROJECT_ROOT, Config
from portal.db import make_engine, make_sessionmaker
from portal.errors import register_errorhandlers
from portal.extensions import babel, csrf, login_manager

LANGUAGES = ("en", "ja")


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
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_SECURE=config.session_cookie_secure,
        BABEL_DEFAULT_LOCALE=config.default_language,
        BABEL_DEFAULT_TIMEZONE=config.default_timezone,
    )
    register_database(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_database(app: Flask, config: Config) -> None:
    engine = make_engine(config.database_url)
    app.extensions["portal.engine"] = engine
    app.extensions["portal.sessionmaker"] = make_sessionmaker(engine)

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    if http_session.get("language") in LANGUAGES:
        return http_session["language"]
    return request.accept_languages.best_match(LANGUAGES) or "en"


def register_extensions(app: Flask) -> None:
    from portal.auth.loader import load_user

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")


def register_blueprints(app: Flask) -> None:
    from portal.admin import bp as admin_bp
    from portal.api import bp as api_bp
    from portal.auth import bp as auth_bp
    from portal.reporting import bp as reporting_bp
    from portal.scorecards import bp as scorecards_bp
    from portal.web import IdConverter

    app.url_map.converters["int"] = IdConverter
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(reporting_bp)
    app.register_blueprint(scorecards_bp)
    app.register_blueprint(api_bp)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.is_vendor:
            return redirect(url_for("admin.partners"))
        return redirect(url_for("reporting.home"))


def register_template_helpers(app: Flask) -> None:
    from portal import actions, formatting, labels
    from portal.digests import weekly_kinds
    from portal.permissions import can

    app.jinja_env.filters.update(
        yen=formatting.yen, date=formatting.local_date, datetime=formatting.local_datetime,
        pct=formatting.pct, number=formatting.number, local_name=formatting.local_name,
        item_title=actions.shown_title,
    )
    from portal.lists import query_args

    app.jinja_env.globals.update(
        label=labels.label, label_band=labels.label_band, languages=LANGUAGES, query_args=query_args, get_locale=formatting.get_locale,
        can=can, weekly_kinds=weekly_kinds,
    )


def register_commands(app: Flask) -> None:
    from portal.cli import register

    register(app)
