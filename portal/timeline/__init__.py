"""One timeline per account: everything that happened to it, from every source, in one feed,
and the notes either side logs about calls and meetings."""
from flask import Blueprint

bp = Blueprint("timeline", __name__)
