from flask import Blueprint

bp = Blueprint("admin", __name__)

from portal.admin import email_views, health_views, views  # noqa: E402,F401
