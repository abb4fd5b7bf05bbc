"""The outcome form: it carries the values and shows the errors; the rules are record_outcome's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, RadioField, SelectField, StringField, TextAreaField

from portal.core.labels import choices
from portal.models import OutcomeKind
from portal.renewals.services import OUTCOME_INPUT


class OutcomeForm(FlaskForm):
    kind = RadioField(_l("What happened"), choices=choices(OutcomeKind), validate_choice=False)
    term_end = StringField(_l("Term end"), description=_l("The renewal date the term had."), render_kw={"type": "date"})
    decided_on = StringField(_l("Renewed or churned on"), description=_l("For a churn: the churn date."), render_kw={"type": "date"})
    new_renewal_date = StringField(_l("New renewal date"), description=_l("Renewed: the end of the new term."), render_kw={"type": "date"})
    arr_jpy = StringField(_l("New ARR (yen)"), description=_l("Renewed: the annual recurring revenue of the new term."))
    reason = SelectField(_l("Churn reason"), validate_choice=False)
    note = TextAreaField(_l("Note"), description=_l("In your own words: what happened and why."))

    def values(self) -> dict:
        """What was typed, for the service to check (the renewal fields only for a renewal, and so on)."""
        values = {name: getattr(self, name).data for name in OUTCOME_INPUT}
        if values["kind"] == OutcomeKind.CHURNED.value:
            values.pop("new_renewal_date")
            values.pop("arr_jpy")
        else:
            values.pop("reason")
        return values


class OutcomeFileForm(FlaskForm):
    file = FileField(_l("Outcome file"), description=_l("CSV (UTF-8 or Shift_JIS) or Excel .xlsx, one row per account."))
