"""The audit log: who logged in, changed a partner, a login, a rule or a token, and when."""
from flask import Blueprint

bp = Blueprint("audit", __name__)
