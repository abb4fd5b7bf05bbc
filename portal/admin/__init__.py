"""Vendor and partner administration: partners, users, API tokens, reporting rules, the health
model, tiers, the job history and the email outbox."""
from flask import Blueprint

bp = Blueprint("admin", __name__)
