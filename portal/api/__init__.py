"""JSON API for resellers' systems: /api/v1, per-partner tokens, problem details, idempotent writes."""
from flask import Blueprint

from portal.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply

from portal.api import views  # noqa: E402,F401
