"""The account timeline's pages (built in #15's timeline work)."""
from portal.timeline import bp  # noqa: F401
