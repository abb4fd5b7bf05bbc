"""Renewal outcomes: what happened when an account's contract term ended (renewed or churned),
recorded by the account page's form, a file, the API and the CLI through one service."""
from flask import Blueprint

bp = Blueprint("renewals", __name__)
