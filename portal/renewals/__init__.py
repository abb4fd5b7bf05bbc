"""Renewal outcomes: what happened when an account's contract term ended (renewed or churned)."""
