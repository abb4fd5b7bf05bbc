from flask import Blueprint

bp = Blueprint("scorecards", __name__)

from portal.scorecards import action_views, views, voc_views  # noqa: E402,F401
