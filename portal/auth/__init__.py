"""Logging in and out, My profile, languages and email preferences (also behind signed links)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
