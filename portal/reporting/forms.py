from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal.labels import choices
from portal.models import LifecycleStatus, Segment


class OptionalUnlessChurned(Optional):
    """Optional() ends an empty field's validation, so the form's validate_<field> would never
    say that a churned account needs it; for a churned account the check carries on instead."""

    def __call__(self, form, field):
        if form.status.data != LifecycleStatus.CHURNED.value:
            return super().__call__(form, field)
        if not field.raw_data or not str(field.raw_data[0]).strip():
            field.errors[:] = []  # drop "not a valid date": the form's own check says what is missing


class AccountForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), coerce=int)
    reference = StringField(
        _l("Your reference"),
        description=_l("The customer's id in your own records; unique within your company."),
        validators=[DataRequired(), Length(max=64)],
    )
    name = StringField(_l("Customer name"), validators=[DataRequired(), Length(max=200)])
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=100)])
    segment = SelectField(_l("Segment"), choices=choices(Segment))
    plan = StringField(_l("Plan"), validators=[Optional(), Length(max=100)])
    seats = IntegerField(
        _l("Seats"),
        validators=[Optional(), NumberRange(min=0, max=1_000_000, message=_l("Enter a whole number from 0 to 1,000,000."))],
    )
    arr_jpy = IntegerField(
        _l("Annual recurring revenue (yen)"),
        validators=[Optional(), NumberRange(min=0, max=10**13, message=_l("Enter a whole number of yen, 0 or more."))],
    )
    contract_start = DateField(_l("Contract start"), validators=[Optional()])
    renewal_date = DateField(_l("Renewal date"), validators=[Optional()])
    desired_outcome = TextAreaField(
        _l("Desired outcome"),
        description=_l("What the customer wants to achieve with the product, e.g. “halve invoice processing time”."),
        validators=[Optional(), Length(max=2000)],
    )
    status = SelectField(_l("Lifecycle status"), choices=choices(LifecycleStatus))
    churned_on = DateField(_l("Churned on"), validators=[OptionalUnlessChurned()])
    churn_reason = TextAreaField(_l("Churn reason"), validators=[OptionalUnlessChurned(), Length(max=2000)])

    def validate_partner_id(self, field):
        if not field.data:
            raise ValidationError(_l("Choose the partner that serves this customer."))

    def validate_renewal_date(self, field):
        if field.data and self.contract_start.data and field.data < self.contract_start.data:
            raise ValidationError(_l("The renewal date must not be before the contract start."))

    def validate_churned_on(self, field):
        if self.status.data == LifecycleStatus.CHURNED.value and not field.data:
            raise ValidationError(_l("Enter the date the customer churned."))

    def validate_churn_reason(self, field):
        if self.status.data == LifecycleStatus.CHURNED.value and not (field.data or "").strip():
            raise ValidationError(_l("Say why the customer churned."))


# --- reports ---------------------------------------------------------------------------------
# Ranges and cross-field rules live in portal.checkins / portal.onboarding, shared with the file
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
    csat = StringField(_l("CSAT (1–5)"), description=_l("Customer satisfaction."))
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
