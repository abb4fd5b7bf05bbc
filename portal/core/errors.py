"""Errors as people and programs read them: a page in the reader's language for the web, RFC
9457 problem details (naming each bad field with a JSON pointer) for the API."""
from __future__ import annotations

import re

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.core.lists import InvalidArgument

API_PREFIX = "/api/v1"


def problem(status: int, title: str, detail: str | None = None, errors=None) -> Response:
    """RFC 9457 problem details; `errors` names each bad field."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [{"field": e.field, "message": str(e.message), "pointer": getattr(e, "pointer", None) or json_pointer(e.field)} for e in errors]
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def json_pointer(field: str) -> str:
    """RFC 6901 pointer to a field of the request body: risks[0].type -> /risks/0/type."""
    parts = re.findall(r"[^.\[\]]+", field)
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX + "/")


def http_problem(error: HTTPException) -> Response:
    """Problem details for an HTTP error on an API URL. Routing errors (no such path, wrong method)
    never reach the blueprint's handlers, so the app's handlers (below) call this too."""
    assert error.code is not None  # handlers are registered per status code, so it has one
    detail = "No such resource for this token's partner." if error.code == 404 else None
    if error.description != type(error).description:  # a reason given with abort(code, description=...)
        detail = str(error.description)
    response = problem(error.code, error.name, detail)
    valid_methods = getattr(error, "valid_methods", None)
    if valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def register_errorhandlers(app: Flask) -> None:
    def render_error(error):
        if is_api_request():
            return http_problem(error)  # API clients get problem details, not a page
        code = getattr(error, "code", 500)
        if code == 400:
            reason = error.description if error.description != type(error).description else _("The request could not be read; nothing was saved.")
            return render_template("errors/400.html", reason=reason), 400
        return render_template(f"errors/{code}.html"), code

    for code in (400, 403, 404, 500):
        app.register_error_handler(code, render_error)
    app.register_error_handler(405, lambda error: http_problem(error) if is_api_request() else error)

    @app.errorhandler(413)
    def too_large(error):
        limit = app.config["PORTAL"].import_max_bytes // 1024
        reason = f"The request is larger than the portal accepts ({limit} KB for a file). Split the file into smaller files."
        if is_api_request():
            return problem(413, "Content Too Large", reason)
        return render_template("errors/400.html", reason=reason), 413

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return render_template("errors/400.html"), 400

    @app.errorhandler(InvalidArgument)
    def invalid_argument(error):
        if is_api_request():
            return problem(400, "Bad Request", str(error.description), error.errors)
        return render_template("errors/400.html", reason=error.description), 400
