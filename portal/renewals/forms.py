"""The outcome form: it carries the values and shows the errors; the rules are record_outcome's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

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


class ChurnReasonForm(FlaskForm):
    """A churn reason of the vendor's list; the rules are keep_reason's."""

    code = StringField(_l("Code"), description=_l("Used in files and the API, e.g. price; lower-case letters, digits and underscores. It cannot change later."),
                       render_kw={"maxlength": 40, "autocapitalize": "none", "spellcheck": "false"})
    label_en = StringField(_l("Label in English"), render_kw={"maxlength": 120})
    label_ja = StringField(_l("Label in Japanese"), render_kw={"maxlength": 120})
    position = IntegerField(_l("Order"), validators=[Optional()], description=_l("Lower comes first on the outcome form."),
                            render_kw={"inputmode": "numeric"})
    active = BooleanField(_l("Offered to resellers"), default=True,
                          description=_l("A retired reason is no longer offered or accepted; the outcomes that name it keep it."))
