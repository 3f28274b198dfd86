"""Baseline (a): the least an HTTP function can do: read the body, answer 204."""

import flask
import functions_framework


@functions_framework.http
def trivial(request: flask.Request) -> tuple[str, int]:
    request.get_data()
    return "", 204
