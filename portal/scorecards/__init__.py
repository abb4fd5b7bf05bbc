from flask import Blueprint

bp = Blueprint("scorecards", __name__)

from portal.scorecards import views  # noqa: E402,F401
