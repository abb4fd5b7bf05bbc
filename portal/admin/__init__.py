from flask import Blueprint

bp = Blueprint("admin", __name__)

from portal.admin import health_views, views  # noqa: E402,F401
