from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, EmailField, FieldList, FloatField, Form, FormField, IntegerField, PasswordField, SelectField,
    SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from portal.auth.forms import language_choices
from portal.core.labels import choices
from portal.models import PartnerStatus, PartnerTier


class PartnerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(
        _l("Partner code"),
        description=_l("Short unique code, letters, digits and hyphens, e.g. SAKURA-01."),
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", message=_l("Use only letters, digits, hyphens and underscores.")),
        ],
    )
    tier = SelectField(_l("Tier"), choices=choices(PartnerTier))
    status = SelectField(_l("Status"), choices=choices(PartnerStatus))
    manager_ids = SelectMultipleField(
        _l("Partner managers"), coerce=int, description=_l("Vendor staff who own this partner.")
    )


class UserForm(FlaskForm):
    """Carries a login's values; the rules are portal.auth.services.save_user's."""

    email = EmailField(_l("Email"), render_kw={"required": True, "maxlength": 254})
    display_name = StringField(_l("Display name"), render_kw={"required": True, "maxlength": 120})
    role = SelectField(_l("Role"), validate_choice=False)
    partner_id = SelectField(_l("Partner"), coerce=int, validate_choice=False)
    language = SelectField(_l("Language"), choices=language_choices())
    active = BooleanField(_l("Active (can log in)"), default=True)
    password = PasswordField(_l("Password"))


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        description=_l("What will use it, e.g. “CRM nightly sync”."),
        validators=[DataRequired(), Length(max=100)],
    )


class PartnerSettingsForm(FlaskForm):
    imports_create_accounts = BooleanField(
        _l("Files and the API may create accounts"),
        description=_l("A row with a reference we do not know yet becomes a new account (customer name and segment needed). Off: such rows are errors."),
    )


class CadenceForm(FlaskForm):
    """Reporting cadence per segment: one months + grace pair per segment."""

    high_touch_months = SelectField(_l("High touch: report every"), coerce=int)
    high_touch_grace = IntegerField(_l("High touch: grace days"), validators=[NumberRange(min=0, max=60)])
    low_touch_months = SelectField(_l("Low touch: report every"), coerce=int)
    low_touch_grace = IntegerField(_l("Low touch: grace days"), validators=[NumberRange(min=0, max=60)])
    tech_touch_months = SelectField(_l("Tech touch: report every"), coerce=int)
    tech_touch_grace = IntegerField(_l("Tech touch: grace days"), validators=[NumberRange(min=0, max=60)])
    adoption_after_days = IntegerField(
        _l("Move to adoption this many days after contract start"),
        description=_l("An onboarding account moves to adoption when its go-live milestone is done, or after these days. Leave empty to move accounts on go-live only."),
        validators=[Optional(), NumberRange(min=1, max=3650)])
    overdue_from = DateField(
        _l("Count overdue check-ins from"),
        description=_l("Periods that ended before this day are never overdue (e.g. the day the portal started). Each account owes check-ins only from when it was first in the portal."),
        validators=[Optional()])
    recovered_after_days = IntegerField(
        _l("Close a red account's item after this many days out of red"),
        description=_l("The nightly run closes the item as recovered once the account has been out of red this many days in a row."),
        validators=[Optional(), NumberRange(min=1, max=365)])
    reopen_within_days = IntegerField(
        _l("Reopen a closed item if its alert returns within this many days"),
        description=_l("Within these days the closed item reopens with its thread instead of a new one; 0: always a new item."),
        validators=[Optional(), NumberRange(min=0, max=365)])


class FeatureForm(FlaskForm):
    key = StringField(_l("Key"), description=_l("Used in files and the API; letters, digits and underscores."),
                      validators=[DataRequired(), Length(max=40), Regexp(r"^[a-z0-9_]+$", message=_l("Use lower-case letters, digits and underscores."))])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=100)])
    name_ja = StringField(_l("Name in Japanese"), validators=[DataRequired(), Length(max=100)])
    position = IntegerField(_l("Order"), default=0, validators=[NumberRange(min=0, max=999)])
    active = BooleanField(_l("Asked in check-ins"), default=True)


class MilestoneTemplateForm(FeatureForm):
    due_after_days = IntegerField(_l("Planned days after contract start"), default=0, validators=[NumberRange(min=0, max=730)])
    marks_first_value = BooleanField(_l("Reaching it is the customer's first value"))
    marks_go_live = BooleanField(_l("Reaching it is go-live: the account moves from onboarding to adoption"))
    active = BooleanField(_l("Part of onboarding"), default=True)


def health_model_form_class():
    """A weight field per phase and component, built from portal.scoring.health so the two never disagree."""
    from portal.scoring.health import COMPONENT_LABELS, COMPONENTS, PHASES

    attrs = {
        "green_min": IntegerField(_l("Healthy (green) from score"), validators=[DataRequired(), NumberRange(1, 100)]),
        "yellow_min": IntegerField(_l("Needs attention (yellow) from score"), validators=[DataRequired(), NumberRange(0, 99)]),
        "min_coverage_pct": IntegerField(
            _l("Data needed for a score (percent of the weight)"),
            description=_l("Below this share of its set's weight, an account shows \"Not enough data\" instead of a score and band."),
            validators=[InputRequired(), NumberRange(0, 100)]),
        "note": StringField(_l("What changed and why"), validators=[Optional(), Length(max=300)]),
        "tickets_ok": FloatField(_l("Open tickets per 100 seats: full marks up to"), validators=[Optional(), NumberRange(0, 1000)]),
        "tickets_bad": FloatField(_l("Open tickets per 100 seats: no marks from"), validators=[Optional(), NumberRange(0, 1000)]),
        "escalations_ok": FloatField(_l("Open escalations per 100 seats: full marks up to"), validators=[Optional(), NumberRange(0, 1000)]),
        "escalations_bad": FloatField(_l("Open escalations per 100 seats: no marks from"), validators=[Optional(), NumberRange(0, 1000)]),
    }
    for phase in PHASES:
        for name in COMPONENTS:
            attrs[f"{phase}__{name}"] = IntegerField(COMPONENT_LABELS[name], validators=[Optional(), NumberRange(0, 100)])

    def validate_yellow_min(form, field):
        if form.green_min.data is not None and field.data is not None and field.data >= form.green_min.data:
            raise ValidationError(_l("Must be below the green threshold."))

    attrs["validate_yellow_min"] = validate_yellow_min
    return type("HealthModelForm", (FlaskForm,), attrs)


def tier_rules_form_class():
    """A minimum per ranked tier and figure (blank: not required), from portal.tiers."""
    from wtforms import DecimalField

    from portal.scoring.tiers import RANKED_TIERS, TIER_FIGURES

    attrs = {}
    for tier in RANKED_TIERS:
        for figure, text in TIER_FIGURES.items():
            attrs[f"{tier.value}__{figure}"] = DecimalField(text, places=None, validators=[Optional(), NumberRange(min=0)])
    return type("TierRulesForm", (FlaskForm,), attrs)


class ProductAreaForm(FeatureForm):
    """A product area of the voice of the customer; the rules are portal.reporting.voc.save_product_area's."""

    aliases = TextAreaField(_l("Other words resellers use"), render_kw={"rows": 3},
                            description=_l("Separated by commas or lines, e.g. “Dashboards, 帳票”. Case, full-width or half-width characters and hiragana or katakana do not matter."))
    active = BooleanField(_l("Items are matched to it"), default=True)


class PlaybookStepForm(Form):
    """One step of a playbook; the rules are portal.actions.playbooks.parse_steps'."""

    position = StringField(_l("Order"), render_kw={"inputmode": "numeric", "size": 3})
    title = StringField(_l("Step in English"), render_kw={"maxlength": 200})
    title_ja = StringField(_l("Step in Japanese"), render_kw={"maxlength": 200})
    note = TextAreaField(_l("Note in English"), render_kw={"rows": 2})
    note_ja = TextAreaField(_l("Note in Japanese"), render_kw={"rows": 2})
    remove = BooleanField(_l("Remove this step"))


class PlaybookForm(FlaskForm):
    # Room for a full playbook and the blank rows the page adds; portal.actions.playbooks caps the steps.
    steps = FieldList(FormField(PlaybookStepForm), max_entries=13)
