"""The account form: it carries the values and shows the errors; the rules are the service's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from portal.accounts.services import ACCOUNT_FIELDS
from portal.core.labels import choices
from portal.models import LifecycleStatus, Segment


class AccountForm(FlaskForm):
    """Carries the account's values and shows the errors; the rules are portal.accounts.check_account's."""

    partner_id = SelectField(_l("Partner"), coerce=int, validate_choice=False)
    reference = StringField(_l("Your reference"), description=_l("The customer's id in your own records; unique within your company."),
                            render_kw={"required": True, "maxlength": 64})
    name = StringField(_l("Customer name"), render_kw={"required": True, "maxlength": 200})
    name_kana = StringField(_l("Name reading (furigana)"), description=_l("In katakana, without 株式会社 and the like (e.g. ナデシコショクヒン): lists sort Japanese names by it."),
                            render_kw={"maxlength": 200})
    owner_id = SelectField(_l("Owner"), description=_l("The person at the reseller responsible for this customer."),
                           validate_choice=False)
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
        for name in ("reference", "name", "name_kana", "industry", "plan", "desired_outcome", "churn_reason"):
            getattr(self, name).data = getattr(account, name) or ""
        for name in ("seats", "arr_jpy"):
            getattr(self, name).data = str(getattr(account, name) or 0)
        for name in ("contract_start", "renewal_date", "churned_on"):
            value = getattr(account, name)
            getattr(self, name).data = value.isoformat() if value else ""
        self.segment.data, self.status.data = account.segment.value, account.status.value
        self.partner_id.data = account.partner_id
        self.owner_id.data = str(account.owner_id or "")

    def values(self) -> dict:
        """What was typed, for the service to check."""
        return {name: getattr(self, name).data for name in ACCOUNT_FIELDS}
