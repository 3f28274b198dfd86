"""Baseline (c): what a DT user would write from DT's docs: dtintegrations + a blocking publish, on Flask."""

import os

import dtintegrations
import flask
import functions_framework
from dtintegrations import data_connector, provider
from google.cloud import pubsub_v1

publisher = pubsub_v1.PublisherClient()
TOPIC = os.environ["PUBSUB_TOPIC"]
SECRET = os.environ["DT_SIGNATURE_SECRET"]


@functions_framework.http
def naive(request: flask.Request) -> tuple[str, int]:
    try:
        payload = data_connector.HttpPush.from_provider(
            request=request, provider=provider.GCLOUD, secret=SECRET
        )
    except Exception:
        return "", 401
    publisher.publish(TOPIC, request.get_data(), eventId=payload.event.event_id).result()
    return "", 200


assert dtintegrations
