from flask import Blueprint

bp = Blueprint("reporting", __name__)

from portal.reporting import import_views, report_views, views  # noqa: E402,F401
