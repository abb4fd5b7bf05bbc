"""Scoring: the health model, the nightly aggregation into scores and scorecards, partner and
channel figures, tiers, and the review pages built on them."""
from flask import Blueprint

bp = Blueprint("scoring", __name__)
