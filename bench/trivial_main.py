"""Baselines (a) and (b): the least an HTTP function can do, read the body and answer 204,
on functions-framework's Flask server (`trivial`) and on its ASGI server (`trivial_asgi`)."""

import flask
import functions_framework
import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response


@functions_framework.http
def trivial(request: flask.Request) -> tuple[str, int]:
    request.get_data()
    return "", 204


@functions_framework.aio.http
async def trivial_asgi(request: Request) -> Response:
    await request.body()
    return Response(b"", 204)
