"""Emails: weekly digests, reminders and alerts rendered into an outbox and delivered by SMTP
with retries."""
