from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from portal import LANGUAGE_NAMES
from portal.auth.services import PASSWORD_MIN_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in on this device"))


def language_choices():
    return [SelectChoice("", _l("Same as my browser")), *(SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items())]


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    language = SelectField(_l("Language"), choices=language_choices())


class CodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app"), validators=[DataRequired(), Length(max=12)])


class DisableTwoFactorForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=PASSWORD_MIN_LENGTH, max=200, message=_l("Use at least %(min)d characters.", min=PASSWORD_MIN_LENGTH)),
        ],
    )
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


WEEKDAYS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday")]
# The zones our users are in, Japan first; any IANA zone typed by an operator still works.
TIME_ZONES = ["Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei", "Asia/Hong_Kong", "Asia/Singapore",
              "Asia/Bangkok", "Asia/Jakarta", "Asia/Kolkata", "Australia/Sydney", "Pacific/Auckland", "Europe/London",
              "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Los_Angeles", "UTC"]


class PasswordForm(ResetPasswordForm):
    """My profile's password change: the reset form's fields after the current password."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])



class EmailPreferencesForm(FlaskForm):
    """Which emails a person gets and when the weekly ones arrive (in their own time zone)."""

    email_digest = BooleanField(_l("Weekly digest"))
    email_reminders = BooleanField(_l("Check-in reminders"))
    email_alerts = BooleanField(_l("Alerts (an account turned red, an action item assigned to me), at most one email an hour"))
    digest_weekday = SelectField(_l("Day of the weekly emails"), coerce=int,
                                 choices=[SelectChoice(n, day) for n, day in enumerate(WEEKDAYS)])
    digest_hour = SelectField(_l("Time of the weekly emails"), coerce=int,
                              choices=[SelectChoice(h, f"{h:02d}:00") for h in range(24)])
    time_zone = SelectField(_l("Time zone"), choices=[SelectChoice(z, z) for z in TIME_ZONES])

    FIELDS = ("email_digest", "email_reminders", "email_alerts", "digest_weekday", "digest_hour", "time_zone")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.time_zone not in TIME_ZONES:
            self.time_zone.choices = [SelectChoice(user.time_zone, user.time_zone)] + list(self.time_zone.choices)

    def save(self, user) -> None:
        for name in self.FIELDS:
            setattr(user, name, getattr(self, name).data)
