"""Accounts: the partners (resellers) and their end-customer accounts, created and edited by
the web form, the file import and the API through one service."""
from flask import Blueprint

bp = Blueprint("accounts", __name__)
