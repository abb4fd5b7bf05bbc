from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from portal.core.labels import choices
from portal.models import ActionStatus


class ActionItemForm(FlaskForm):
    title = StringField(_l("What needs doing"), description=_l("E.g. “Please run a training session for the new users”."))
    details = TextAreaField(_l("Details"), render_kw={"rows": 3})
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)
    due_on = StringField(_l("Due date"), render_kw={"type": "date"})


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), render_kw={"rows": 3})


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(ActionStatus), validate_choice=False)
    resolution = TextAreaField(_l("Resolution"), description=_l("Required to close the item: what was done, or why not."),
                               render_kw={"rows": 2})


class OwnerForm(FlaskForm):
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)


class DueForm(FlaskForm):
    due_on = StringField(_l("Due date"), render_kw={"type": "date"})


class TakeForm(FlaskForm):
    """Only the CSRF token: taking an item needs no input."""
