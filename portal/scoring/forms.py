"""The vendor's answer to a voice-of-the-customer item; the rules are portal.reporting.voc.answer's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField


class VocAnswerForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[], validate_choice=False)
    answer = TextAreaField(_l("Answer to the reseller"), render_kw={"rows": 4},
                           description=_l("The reseller reads this with the status. Required when you decline."))
    product_area_id = SelectField(_l("Product area"), choices=[], validate_choice=False)
