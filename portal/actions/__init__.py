"""Action items: what the vendor asks of a reseller about an account, raised by people or by
alerts, with a thread, an owner, a due date and a resolution."""
from flask import Blueprint

bp = Blueprint("actions", __name__)
