"""The `ingest` function served by functions-framework, publishing to the real Pub/Sub emulator."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import jwt
import pytest
import requests
from dtintegrations.data_connector.http_push import HttpPush

from local import emulators
from local.dt_signing import AsymmetricSigner, headers_for, shared_secret_token
from local.reading import pull_and_ack
from local.servers import FunctionServer, free_port
from tests.support.dt import ORGANIZATION_ID, PREVIOUS_SECRET, SECRET, real_body, with_event
from tests.support.functions import ingest_env
from tests.support.pubsub import create_topic_with_subscription

TEMPERATURE = real_body("temperature.json")


def post(server: FunctionServer, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(server.url, data=body, headers=headers, timeout=30)


def assert_refused(response: requests.Response, status: int, error: str, words: str) -> None:
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"] == error
    assert words in answer["message"]


def test_a_dt_signed_event_is_published_with_its_exact_bytes_and_attributes(
    ingest_server, ingest_topic, subscriber
):
    response = post(ingest_server, TEMPERATURE, headers_for(TEMPERATURE, secret=SECRET))
    assert response.status_code == 200, response.text
    assert response.json()["eventId"] == "cpbg96qngr7ai7ldarrg"
    [message] = [
        m
        for m in pull_and_ack(subscriber, ingest_topic[1], 1)
        if m.attributes["eventId"] == "cpbg96qngr7ai7ldarrg"
    ]
    assert message.data == TEMPERATURE
    assert dict(message.attributes) == {
        "eventId": "cpbg96qngr7ai7ldarrg",
        "eventType": "temperature",
        "deviceId": "emucdd6ef2eu277bo8f52vg",
        "projectId": "ccol8iuk9smqiha4e8l0",
        "timestamp": "2024-05-29T10:34:03.970415Z",
        "deviceType": "temperature",
        "source": "webhook",
    }
    assert response.json()["messageId"] == message.message_id


def test_tokens_we_mint_are_accepted_by_dts_own_verifier():
    """Cross-check: our DT-like tokens are the ones DT's official `dtintegrations` accepts."""
    headers = headers_for(TEMPERATURE, secret=SECRET)
    decoded = HttpPush(headers, TEMPERATURE, SECRET)
    assert decoded.event.event_id == "cpbg96qngr7ai7ldarrg"


def test_a_body_without_metadata_is_accepted(ingest_server, ingest_topic, subscriber):
    body = with_event(real_body("touch__no_metadata_2021.json"), eventId="nometadata0000000001")
    assert "metadata" not in json.loads(body)
    response = post(ingest_server, body, headers_for(body, secret=SECRET))
    assert response.status_code == 200, response.text
    [message] = [
        m
        for m in pull_and_ack(subscriber, ingest_topic[1], 1)
        if m.attributes["eventId"] == "nometadata0000000001"
    ]
    assert "deviceType" not in message.attributes
    assert message.data == body


def test_an_unknown_event_type_passes_through_untouched(ingest_server, ingest_topic, subscriber):
    document = json.loads(TEMPERATURE)
    document["event"].update(eventId="unknowntype000000001", eventType="airQuality")
    document["event"]["data"] = {"airQuality": {"voc": 12.5, "newField": [1, 2]}}
    body = json.dumps(document).encode()
    response = post(ingest_server, body, headers_for(body, secret=SECRET))
    assert response.status_code == 200, response.text
    [message] = [
        m
        for m in pull_and_ack(subscriber, ingest_topic[1], 1)
        if m.attributes["eventId"] == "unknowntype000000001"
    ]
    assert message.attributes["eventType"] == "airQuality"
    assert message.data == body


def test_the_previous_secret_is_accepted_during_rotation(ingest_server):
    body = with_event(TEMPERATURE, eventId="rotation000000000001")
    assert post(ingest_server, body, headers_for(body, secret=PREVIOUS_SECRET)).status_code == 200


def test_a_token_signed_with_another_secret_is_refused(ingest_server):
    response = post(ingest_server, TEMPERATURE, headers_for(TEMPERATURE, secret="not-the-connectors-secret"))
    assert_refused(response, 401, "invalid_signature", "not signed with the connector's secret")


def test_a_missing_signature_is_refused(ingest_server):
    response = post(ingest_server, TEMPERATURE, {"Content-Type": "application/json"})
    assert_refused(response, 401, "invalid_signature", "no X-Dt-Signature or DT-Asymmetric-Signature header")


@pytest.mark.parametrize(
    "token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "\u00e9t\u00e9".encode().decode("latin-1")]
)
def test_a_malformed_token_is_a_401_never_a_500(ingest_server, token):
    response = post(ingest_server, TEMPERATURE, {"X-Dt-Signature": token})
    assert_refused(response, 401, "invalid_signature", "the X-Dt-Signature token is malformed")


def test_an_expired_token_is_refused(ingest_server):
    headers = {"X-Dt-Signature": shared_secret_token(TEMPERATURE, SECRET, issued_at=time.time() - 7200)}
    assert_refused(post(ingest_server, TEMPERATURE, headers), 401, "invalid_signature", "expired")


def test_a_body_changed_after_signing_is_refused(ingest_server):
    headers = headers_for(TEMPERATURE, secret=SECRET)
    tampered = TEMPERATURE.replace(b'"value":27', b'"value":99')
    assert_refused(post(ingest_server, tampered, headers), 401, "invalid_signature", "does not match")


def test_a_legacy_sha1_only_token_is_accepted(ingest_server):
    body = with_event(TEMPERATURE, eventId="legacysha10000000001")
    headers = {"X-Dt-Signature": shared_secret_token(body, SECRET, checksum_sha256=None)}
    assert "checksum_sha256" not in jwt.decode(headers["X-Dt-Signature"], options={"verify_signature": False})
    assert post(ingest_server, body, headers).status_code == 200


def test_an_asymmetric_token_from_dts_key_is_accepted(ingest_server, signer):
    body = with_event(TEMPERATURE, eventId="asymmetric0000000001")
    response = post(ingest_server, body, headers_for(body, signer=signer))
    assert response.status_code == 200, response.text


def test_both_signatures_together_are_accepted(ingest_server, signer):
    body = with_event(TEMPERATURE, eventId="bothschemes000000001")
    assert post(ingest_server, body, headers_for(body, secret=SECRET, signer=signer)).status_code == 200


def test_a_valid_asymmetric_token_does_not_excuse_a_wrong_shared_secret(ingest_server, signer):
    headers = headers_for(TEMPERATURE, secret="wrong-secret-wrong-secret", signer=signer)
    assert_refused(post(ingest_server, TEMPERATURE, headers), 401, "invalid_signature", "connector's secret")


def test_an_asymmetric_token_for_another_organization_is_refused(ingest_server, signer):
    other = AsymmetricSigner(organization_id="another-org", kid=signer.kid, private_key=signer.private_key)
    response = post(ingest_server, TEMPERATURE, headers_for(TEMPERATURE, signer=other))
    assert_refused(response, 401, "invalid_signature", "another DT organization")


def test_an_asymmetric_token_from_an_unknown_key_is_refused(ingest_server):
    stranger = AsymmetricSigner(organization_id=ORGANIZATION_ID)
    response = post(ingest_server, TEMPERATURE, headers_for(TEMPERATURE, signer=stranger))
    assert_refused(response, 401, "invalid_signature", "no known DT key")


def test_an_hs256_token_in_the_asymmetric_header_is_refused(ingest_server):
    """Algorithm confusion: an HMAC token keyed with anything must not pass as DT's ES256."""
    token = shared_secret_token(
        TEMPERATURE,
        SECRET,
        iss="https://identity.disruptive-technologies.com/data-connector",
        sub=ORGANIZATION_ID,
    )
    response = post(ingest_server, TEMPERATURE, {"DT-Asymmetric-Signature": token})
    assert_refused(response, 401, "invalid_signature", "ES256")


def test_a_get_is_refused_with_405(ingest_server):
    response = requests.get(ingest_server.url, timeout=10)
    assert_refused(response, 405, "method_not_allowed", "POST")
    assert response.headers["Allow"] == "POST"


def test_a_body_over_the_limit_is_refused_with_413(ingest_server):
    body = b'{"event":{}, "padding":"' + b"x" * 300_000 + b'"}'
    assert_refused(
        post(ingest_server, body, headers_for(body, secret=SECRET)), 413, "body_too_large", "262144"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json at all", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'{"labels": {}}', "event is missing"),
        (b'{"event": {"eventType": "touch"}}', "event.eventId"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        ('{"event": {"é": 1, "é": 2}}'.encode(), "more than once"),
    ],
)
def test_a_signed_body_that_is_not_a_dt_envelope_is_kept_for_the_dead_letter_topic(
    ingest_server, ingest_topic, subscriber, body, words
):
    """DT signed it: answered 2xx (DT would retry a 4xx, then disable the connector) and published
    with the reason in the `invalidBody` attribute, which the router dead-letters."""
    response = post(ingest_server, body, headers_for(body, secret=SECRET))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "kept_invalid" and words in answer["message"]
    [message] = [
        m for m in pull_and_ack(subscriber, ingest_topic[1], 1) if m.message_id == answer["messageId"]
    ]
    assert message.data == body
    assert words in message.attributes["invalidBody"] and message.attributes["source"] == "webhook"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("eventId", "", "event.eventId"),
        ("eventType", 7, "event.eventType"),
        ("targetName", "devices/x", "event.targetName"),
        ("timestamp", "yesterday", "event.timestamp"),
    ],
)
def test_each_required_envelope_field_is_checked(ingest_server, field, value, words):
    body = with_event(TEMPERATURE, **{field: value})
    response = post(ingest_server, body, headers_for(body, secret=SECRET))
    assert response.status_code == 202 and words in response.json()["message"], response.text


def test_an_unsigned_body_that_is_not_a_dt_envelope_is_refused_unread(ingest_server):
    assert_refused(post(ingest_server, b"not json at all", {}), 401, "invalid_signature", "no X-Dt-Signature")


def _address(server: FunctionServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split("/")[0].split(":")
    return host, int(port)


def _answer(connection: socket.socket) -> str:
    """One HTTP answer read from `connection`: its head and its Content-Length of body."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := connection.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *([0-9]+)", head).group(1))
    while len(body) < length and (chunk := connection.recv(65536)):
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_of_12_mib_gets_a_413_its_sender_can_read(ingest_server, chunked):
    """Sent as a client on a real network does (not faster than the server reads), the whole
    upload goes through and the answer is read after it, not a reset connection mid-upload."""
    size, piece = 12 * 1024 * 1024, b"x" * 65536
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
    with socket.create_connection(_address(ingest_server), timeout=30) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n\r\n")
        for sent in range(0, size, len(piece)):
            connection.sendall(b"10000\r\n" + piece + b"\r\n" if chunked else piece)
            if sent % (1024 * 1024) == 0:
                time.sleep(0.02)
        if chunked:
            connection.sendall(b"0\r\n\r\n")
        answer = _answer(connection)
    assert answer.startswith("HTTP/1.1 413") and "body_too_large" in answer, answer


def test_a_body_sent_too_slowly_is_refused_with_408_and_frees_its_slot(ingest_server):
    with socket.create_connection(_address(ingest_server), timeout=30) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        started = time.monotonic()
        answer = _answer(connection)
        waited = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 408") and "body_timeout" in answer, answer
    assert 4 < waited < 15, waited  # BODY_READ_TIMEOUT_SECONDS: 5 by default


def test_a_bad_configuration_stops_ingest_at_start_up_naming_the_variable(
    ingest_topic, pubsub_host, jwks_server, tmp_path
):
    env = ingest_env(ingest_topic[0], pubsub_host, jwks_server) | {"CLOCK_LEEWAY_SECONDS": "a minute"}
    server = FunctionServer("ingest", free_port(), env, tmp_path / "ingest.log")
    with pytest.raises(RuntimeError, match="exited at start-up") as refused:
        server.start()
    assert "CLOCK_LEEWAY_SECONDS='a minute' is not a number" in str(refused.value)


def test_the_servers_master_process_never_loads_the_pubsub_library(ingest_server):
    """Only the worker holds gRPC and the Pub/Sub library; the master forks and watches it."""
    body = with_event(TEMPERATURE, eventId="masterworker00000001")
    assert post(ingest_server, body, headers_for(body, secret=SECRET)).status_code == 200
    master, *workers = ingest_server.process_tree()
    assert len(workers) == 1
    assert "cygrpc" not in Path(f"/proc/{master}/maps").read_text()
    assert "cygrpc" in Path(f"/proc/{workers[0]}/maps").read_text()


def test_the_logs_hold_no_secret_and_no_token(ingest_server, server_logs):
    body = with_event(TEMPERATURE, eventId="logcheck000000000001")
    headers = headers_for(body, secret=SECRET)
    assert post(ingest_server, body, headers).status_code == 200
    post(ingest_server, body, {"X-Dt-Signature": headers["X-Dt-Signature"] + "x"})
    time.sleep(0.5)
    log = (server_logs / "ingest.log").read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("summaryOf") == "ingest" for line in lines)  # no line per successful event at INFO
    for secret in (
        SECRET,
        PREVIOUS_SECRET,
        headers["X-Dt-Signature"],
        headers["X-Dt-Signature"].split(".")[2],
    ):
        assert secret not in log


def test_pubsub_down_answers_503_with_retry_after_then_succeeds_once_it_is_back(
    tmp_path, jwks_server, monkeypatch
):
    """DT retries on 503: nothing acknowledged is lost while Pub/Sub is unavailable."""
    port = free_port()
    pubsub = emulators.PubSubEmulator(port, tmp_path)
    pubsub.start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub.host)  # put back (or removed) after the test
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic, subscription = create_topic_with_subscription(publisher, subscriber, "outage")
    server = FunctionServer(
        "ingest", free_port(), ingest_env(topic, pubsub.host, jwks_server), tmp_path / "ingest.log"
    )
    server.start()
    try:
        body = with_event(TEMPERATURE, eventId="outage00000000000001")
        assert post(server, body, headers_for(body, secret=SECRET)).status_code == 200
        pubsub.stop()
        response = post(server, body, headers_for(body, secret=SECRET))
        assert_refused(response, 503, "unavailable", "Pub/Sub")
        assert int(response.headers["Retry-After"]) > 0
        pubsub.start()  # the emulator comes back empty: recreate what Terraform would keep
        create_topic_with_subscription(publisher, subscriber, "outage")
        deadline = time.monotonic() + 60
        while (response := post(server, body, headers_for(body, secret=SECRET))).status_code != 200:
            assert response.status_code == 503 and time.monotonic() < deadline, response.text
            time.sleep(1)
        [message] = pull_and_ack(subscriber, subscription, 1)
        assert message.data == body
    finally:
        server.stop()
        pubsub.stop()


def test_with_dt_project_ids_set_events_of_another_dt_project_get_403(
    ingest_topic, pubsub_host, jwks_server, tmp_path
):
    env = ingest_env(ingest_topic[0], pubsub_host, jwks_server) | {
        "DT_PROJECT_IDS": "ccol8iuk9smqiha4e8l0,other1"
    }
    server = FunctionServer("ingest", free_port(), env, tmp_path / "ingest.log")
    server.start()
    try:
        assert post(server, TEMPERATURE, headers_for(TEMPERATURE, secret=SECRET)).status_code == 200
        stranger = with_event(
            TEMPERATURE, targetName="projects/c0strangerproject000/devices/emucdd6ef2eu277bo8f52vg"
        )
        response = post(server, stranger, headers_for(stranger, secret=SECRET))
        assert_refused(response, 403, "project_not_allowed", "c0strangerproject000")
    finally:
        server.stop()


def test_a_long_non_ascii_device_type_stays_within_pubsubs_byte_limit(
    ingest_server, ingest_topic, subscriber
):
    document = json.loads(TEMPERATURE)
    document["metadata"]["deviceType"] = "é" * 1000  # 1,000 characters, 2,000 bytes
    body = json.dumps(document, ensure_ascii=False).encode()
    response = post(ingest_server, body, headers_for(body, secret=SECRET))
    assert response.status_code == 200, response.text
    [message] = [
        m
        for m in pull_and_ack(subscriber, ingest_topic[1], 1)
        if m.message_id == response.json()["messageId"]
    ]
    assert message.attributes["deviceType"] == "é" * 256 and message.data == body  # 512 bytes
