from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField


class NoteForm(FlaskForm):
    """A call, meeting or note on an account's timeline; portal.timeline.services.add_note checks it."""

    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    happened_on = StringField(_l("Date"), render_kw={"type": "date"})
    participants = StringField(_l("Who took part"), description=_l("E.g. “Tanaka (customer IT), Sato”."))
    body = TextAreaField(_l("What was said or agreed"), render_kw={"rows": 3})
