"""The channel-scale benchmark (issue #16): `python -m bench all --accounts 10000,100000`.

Generates the data on PostgreSQL, runs each measurement beside its floor in the same run, and
prints one table (also bench/results/latest.md and .json). It uses only stable surfaces: HTTP
pages and forms under gunicorn, and the service functions aggregate, queue_weekly, queue_alerts
and deliver_due, so the same harness measures today's code and tomorrow's.
"""
