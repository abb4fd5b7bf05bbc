from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from portal.accounts import ACCOUNT_FIELDS
from portal.labels import choices
from portal.models import LifecycleStatus, Segment


class AccountForm(FlaskForm):
    """Carries the account's values and shows the errors; the rules are portal.accounts.check_account's."""

    partner_id = SelectField(_l("Partner"), coerce=int, validate_choice=False)
    reference = StringField(_l("Your reference"), description=_l("The customer's id in your own records; unique within your company."),
                            render_kw={"required": True, "maxlength": 64})
    name = StringField(_l("Customer name"), render_kw={"required": True, "maxlength": 200})
    industry = StringField(_l("Industry"), render_kw={"maxlength": 100})
    segment = SelectField(_l("Segment"), choices=choices(Segment), validate_choice=False)
    plan = StringField(_l("Plan"), render_kw={"maxlength": 100})
    seats = StringField(_l("Seats"))
    arr_jpy = StringField(_l("Annual recurring revenue (yen)"))
    contract_start = StringField(_l("Contract start"), render_kw={"type": "date"})
    renewal_date = StringField(_l("Renewal date"), render_kw={"type": "date"})
    desired_outcome = TextAreaField(
        _l("Desired outcome"),
        description=_l("What the customer wants to achieve with the product, e.g. “halve invoice processing time”."),
    )
    status = SelectField(_l("Lifecycle status"), choices=choices(LifecycleStatus), validate_choice=False)
    churned_on = StringField(_l("Churned on"), render_kw={"type": "date"})
    churn_reason = TextAreaField(_l("Churn reason"))

    def fill(self, account) -> None:
        """The stored account as the form shows it."""
        for name in ("reference", "name", "industry", "plan", "desired_outcome", "churn_reason"):
            getattr(self, name).data = getattr(account, name) or ""
        for name in ("seats", "arr_jpy"):
            getattr(self, name).data = str(getattr(account, name) or 0)
        for name in ("contract_start", "renewal_date", "churned_on"):
            value = getattr(account, name)
            getattr(self, name).data = value.isoformat() if value else ""
        self.segment.data, self.status.data = account.segment.value, account.status.value
        self.partner_id.data = account.partner_id

    def values(self) -> dict:
        """What was typed, for the service to check."""
        return {name: getattr(self, name).data for name in ACCOUNT_FIELDS}


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
