from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from portal.core.labels import choices


# --- reports ---------------------------------------------------------------------------------
# Ranges and cross-field rules live in portal.reporting.checkins / .onboarding, shared with the file
# import and the API; these forms only carry the values and show the errors next to the fields.

from wtforms import BooleanField, FieldList, FileField, Form, FormField, RadioField  # noqa: E402

from portal.models import MilestoneStatus, RenewalLikelihood, RiskType, Sentiment, Severity, StakeholderRole, VocKind  # noqa: E402


def _blank_first(enum_cls):
    from wtforms import SelectChoice

    return [SelectChoice("", "—")] + choices(enum_cls)


class RiskForm(Form):
    type = SelectField(_l("Risk"), choices=_blank_first(RiskType), validate_choice=False)
    severity = SelectField(_l("Severity"), choices=_blank_first(Severity), validate_choice=False)
    note = StringField(_l("Note"))


class VocForm(Form):
    kind = SelectField(_l("Type"), choices=_blank_first(VocKind), validate_choice=False)
    product_area = StringField(_l("Product area"))
    text = TextAreaField(_l("What the customer said"))


class CheckInForm(FlaskForm):
    period = SelectField(_l("Reporting period"))
    active_users = StringField(_l("Active users"), description=_l("People who used the product in the period."))
    nps = StringField(_l("NPS (0–10)"), description=_l("How likely the customer is to recommend the product."))
    nps_score = StringField(_l("NPS score (−100 to 100)"), description=_l("From a survey of several people: percent promoters minus percent detractors. Give this or the 0–10 answer, not both."))
    csat = StringField(_l("CSAT (1.0–5.0)"), description=_l("Customer satisfaction; a survey average such as 4.2."))
    ces = StringField(_l("Customer effort (CES 1–7)"), description=_l("How easy it is for the customer to get things done; 1 is easiest."))
    open_tickets = StringField(_l("Open support tickets"), default="0")
    open_escalations = StringField(_l("Open escalations"), default="0")
    sentiment = RadioField(_l("Your sentiment"), choices=choices(Sentiment), validate_choice=False)
    sentiment_reason = TextAreaField(_l("Why?"), description=_l("Required for yellow and red."))
    outcome_progress = StringField(_l("Progress toward the desired outcome (%)"))
    outcome_note = TextAreaField(_l("Progress note"))
    renewal_likelihood = SelectField(_l("Renewal likelihood"), choices=_blank_first(RenewalLikelihood), validate_choice=False)
    expansion_jpy = StringField(_l("Expansion opportunity (yen)"), default="0")
    risks = FieldList(FormField(RiskForm), min_entries=3, max_entries=3)
    voc = FieldList(FormField(VocForm), min_entries=2, max_entries=2)
    note = TextAreaField(_l("Other notes"))


class MilestoneForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(MilestoneStatus), validate_choice=False)
    planned_on = StringField(_l("Planned date"), render_kw={"type": "date"})
    completed_on = StringField(_l("Actual date"), render_kw={"type": "date"}, description=_l("When the milestone was reached."))
    note = TextAreaField(_l("Note"), description=_l("Progress, issues and risks at this step."))


class StakeholderForm(FlaskForm):
    name = StringField(_l("Name"))
    role = SelectField(_l("Role"), choices=choices(StakeholderRole), validate_choice=False)
    success_note = StringField(_l("Their own success, in a line"), description=_l("E.g. “wants to show the board the hours saved”."))
    last_contact_on = StringField(_l("Last contact"), render_kw={"type": "date"})
    active = BooleanField(_l("Still involved"), default=True)


class ImportForm(FlaskForm):
    file = FileField(_l("Check-in file"), description=_l("CSV (UTF-8 or Shift_JIS) or Excel .xlsx, one row per account."))
