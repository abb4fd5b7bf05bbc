"""JSON API for resellers' systems: /api/v1, per-partner tokens, problem details, idempotent writes."""
from flask import Blueprint

from portal.core.errors import API_PREFIX
from portal.core.extensions import csrf

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply
