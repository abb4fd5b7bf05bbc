"""Reporting: what resellers tell the vendor about their customers (check-ins, milestones,
stakeholders, file imports), the cadence that says what is due, and the change log."""
from flask import Blueprint

bp = Blueprint("reporting", __name__)
