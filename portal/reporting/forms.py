from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal.labels import choices
from portal.models import LifecycleStatus, Segment


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
    churned_on = DateField(_l("Churned on"), validators=[Optional()])
    churn_reason = TextAreaField(_l("Churn reason"), validators=[Optional(), Length(max=2000)])

    def validate_renewal_date(self, field):
        if field.data and self.contract_start.data and field.data < self.contract_start.data:
            raise ValidationError(_l("The renewal date must not be before the contract start."))

    def validate_churned_on(self, field):
        if self.status.data == LifecycleStatus.CHURNED.value and not field.data:
            raise ValidationError(_l("Enter the date the customer churned."))

    def validate_churn_reason(self, field):
        if self.status.data == LifecycleStatus.CHURNED.value and not (field.data or "").strip():
            raise ValidationError(_l("Say why the customer churned."))
