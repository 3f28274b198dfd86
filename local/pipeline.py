"""The whole pipeline on this machine: emulators, topics, tables, and both functions served.

    with Pipeline(PipelineSettings()) as pipeline:
        ... POST signed events to pipeline.ingest_url, query pipeline.bigquery ...

The Pub/Sub wiring is the one Terraform deploys: the ingest topic, a subscription that pushes
to `route` with a retry and dead-letter policy, and a dead-letter topic with a subscription
that keeps dead letters for inspection. The pushes are made by `PushRelay` (delivery "relay",
the default) or by the emulator itself (delivery "emulator"); see local/push_relay.py for why.

With `router="bigquery_subscription"` (env ROUTER) no route function runs: the topic has a BigQuery
subscription instead, played by local/bigquery_subscription.py (the JavaScript transform in Node,
use_table_schema's rules, the landing table, dead letters after the maximum delivery attempts).
With `both_routers` (the demo) the other router runs too, on a subscription of its own to the same
topic (Pub/Sub gives each subscription every message), writing into the dataset
`<dataset>_<other router>`; `landed_rows` reads either dataset's rows to compare them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import grpc
from google.cloud import bigquery, pubsub_v1
from google.protobuf import duration_pb2
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from functions import catalogue
from functions.bigquery_writer import bigquery_client
from local import bigquery_setup, emulators
from local.bigquery_subscription import BigQuerySubscription
from local.push_relay import PushRelay
from local.servers import FunctionServer, JwksServer, free_port
from local.tcp_proxy import TcpProxy


def emulator_subscriber(host: str) -> pubsub_v1.SubscriberClient:
    """A subscriber client of the emulator at `host` that receives any pull answer Pub/Sub allows
    (10 MB): a default client, on the emulator's plain channel, refuses answers over 4 MiB (a pull
    of a few hundred large dead letters)."""
    channel = grpc.insecure_channel(host, options=[("grpc.max_receive_message_length", -1)])
    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


ROUTERS = ("function", "bigquery_subscription")  # Terraform's variable `router` takes the same values
# The columns of events_log set per delivery, not per event: any two deliveries differ in them.
PER_DELIVERY = ("ingested_at", "published_at", "pubsub_message_id")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class PipelineSettings:
    """Ports and names; each can be set by an environment variable (see README, "Configuration")."""

    project: str = field(default_factory=lambda: os.environ.get("GOOGLE_CLOUD_PROJECT", "local"))
    dataset: str = field(default_factory=lambda: os.environ.get("BIGQUERY_DATASET_ID", "dt"))
    topic: str = field(default_factory=lambda: os.environ.get("PUBSUB_TOPIC_ID", "dt-events"))
    ingest_port: int = field(default_factory=lambda: _env_int("INGEST_PORT", 8080))
    route_port: int = field(default_factory=lambda: _env_int("ROUTE_PORT", 8081))
    pubsub_port: int = field(default_factory=lambda: _env_int("PUBSUB_PORT", 8085))
    bigquery_port: int = field(default_factory=lambda: _env_int("BIGQUERY_PORT", 9050))
    bigquery_grpc_port: int = field(default_factory=lambda: _env_int("BIGQUERY_GRPC_PORT", 9060))
    signature_secret: str = field(default_factory=lambda: os.environ.get("DT_SIGNATURE_SECRET", ""))
    organization_id: str | None = None
    jwks: dict | None = None
    max_delivery_attempts: int = 10
    route_threads: int = 64
    delivery: str = field(default_factory=lambda: os.environ.get("PUSH_DELIVERY", "relay"))
    router: str = field(default_factory=lambda: os.environ.get("ROUTER", "function"))
    both_routers: bool = False  # run the other router too, into dataset_of(it) (the demo)
    work_dir: Path | None = None
    persistent_bigquery: bool = False  # keep BigQuery data on disk (restarts, --work-dir)
    outage_proxies: bool = False  # put a TcpProxy in front of each emulator, to cut it off on demand
    extra_ingest_env: dict[str, str] = field(default_factory=dict)
    extra_route_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.delivery not in ("relay", "emulator"):
            raise ValueError(f"delivery must be 'relay' or 'emulator', not {self.delivery!r}")
        if self.router not in ROUTERS:
            raise ValueError(f"router must be one of {', '.join(ROUTERS)}, not {self.router!r}")
        if not self.signature_secret:
            self.signature_secret = secrets.token_urlsafe(32)

    @property
    def dead_letter_topic(self) -> str:
        return self.topic + "-dead-letter"

    @property
    def routers(self) -> tuple[str, ...]:
        """The routers that run: the chosen one first, then (both_routers) the other."""
        return (self.router, *(r for r in ROUTERS if r != self.router and self.both_routers))

    def dataset_of(self, router: str) -> str:
        """Where `router` writes: the dataset for the chosen router, `<dataset>_<router>` for the other."""
        return self.dataset if router == self.router else f"{self.dataset}_{router}"


class Pipeline:
    """Starts everything on enter, stops everything it started on exit (also on errors)."""

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self._own_dir = settings.work_dir is None
        self.work_dir = (
            Path(tempfile.mkdtemp(prefix="dt-pipeline-")) if settings.work_dir is None else settings.work_dir
        )
        s = settings
        self.pubsub = emulators.PubSubEmulator(s.pubsub_port, self.work_dir / "logs")
        self.bigquery_emulator = emulators.BigQueryEmulator(
            s.bigquery_port, self.work_dir / "logs", self.work_dir / "bigquery", s.project, s.bigquery_grpc_port,
            persistent=s.persistent_bigquery or s.work_dir is not None,
        )  # fmt: skip
        self.jwks_server = JwksServer(s.jwks) if s.jwks else None
        self.ingest: FunctionServer | None = None
        self.route: FunctionServer | None = None
        self.publisher: pubsub_v1.PublisherClient | None = None
        self.subscriber: pubsub_v1.SubscriberClient | None = None
        self.bigquery: bigquery.Client | None = None
        self.relay: PushRelay | None = None
        self.bigquery_subscription: BigQuerySubscription | None = None
        self._previous_emulator_host: str | None = None
        self.pubsub_proxy = TcpProxy(free_port(), s.pubsub_port) if s.outage_proxies else None
        self.bigquery_proxy = TcpProxy(free_port(), s.bigquery_port) if s.outage_proxies else None

    # Names -------------------------------------------------------------------------------
    @property
    def topic_path(self) -> str:
        return f"projects/{self.settings.project}/topics/{self.settings.topic}"

    @property
    def dead_letter_topic_path(self) -> str:
        return f"projects/{self.settings.project}/topics/{self.settings.dead_letter_topic}"

    @property
    def push_subscription_path(self) -> str:
        return f"projects/{self.settings.project}/subscriptions/{self.settings.topic}-to-route"

    @property
    def bigquery_subscription_path(self) -> str:
        return f"projects/{self.settings.project}/subscriptions/{self.settings.topic}-to-bigquery"

    @property
    def dead_letter_subscription_path(self) -> str:
        return f"projects/{self.settings.project}/subscriptions/{self.settings.dead_letter_topic}-inspect"

    @property
    def route_push_endpoint(self) -> str:
        """Where pushes go; functions-framework reads the topic from the path."""
        assert self.route is not None
        return f"{self.route.url}/{self.topic_path}"

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ingest_port}/"

    @property
    def bigquery_endpoint(self) -> str:
        return f"http://{self.bigquery_emulator.host}"

    # Lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Pipeline:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        s = self.settings
        self.pubsub.start()
        self.bigquery_emulator.start()
        # The client libraries read the emulator's address from the environment; put it back in stop().
        self._previous_emulator_host = os.environ.get("PUBSUB_EMULATOR_HOST")
        os.environ["PUBSUB_EMULATOR_HOST"] = self.pubsub.host
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = emulator_subscriber(self.pubsub.host)
        self.bigquery = bigquery_client(s.project, self.bigquery_endpoint)
        for router in s.routers:
            bigquery_setup.create_all(self.bigquery, s.project, s.dataset_of(router))
        for proxy in (self.pubsub_proxy, self.bigquery_proxy):
            if proxy is not None:
                proxy.start()
        if self.jwks_server is not None:
            self.jwks_server.start()
        logs = self.work_dir / "logs"
        if "function" in s.routers:
            self.route = FunctionServer("route", s.route_port, self.route_env(), logs / "route.log")
            self.route.start()
        self.ingest = FunctionServer("ingest", s.ingest_port, self.ingest_env(), logs / "ingest.log")
        self.ingest.start()
        self.create_topics()

    def ingest_env(self) -> dict[str, str]:
        s = self.settings
        pubsub = self.pubsub_proxy or self.pubsub
        env = {
            "PUBSUB_EMULATOR_HOST": pubsub.host,
            "PUBSUB_TOPIC": self.topic_path,
            "DT_SIGNATURE_SECRET": s.signature_secret,
        }
        if s.organization_id and self.jwks_server is not None:
            env |= {
                "DT_ORGANIZATION_ID": s.organization_id,
                "DT_OIDC_DISCOVERY_URL": self.jwks_server.discovery_url,
            }
        return env | s.extra_ingest_env

    def route_env(self) -> dict[str, str]:
        s = self.settings
        return {
            "PUBSUB_EMULATOR_HOST": self.pubsub.host,
            "BIGQUERY_DATASET": f"{s.project}.{s.dataset_of('function')}",
            "BIGQUERY_API_ENDPOINT": f"http://{(self.bigquery_proxy or self.bigquery_emulator).host}",
            "DEAD_LETTER_TOPIC": self.dead_letter_topic_path,
            "BIGQUERY_TIMEOUT_SECONDS": "10",
            "THREADS": str(s.route_threads),
        } | s.extra_route_env

    def create_topics(self) -> None:
        """The topics and subscriptions Terraform creates in the cloud (the emulator keeps none)."""
        assert self.publisher is not None and self.subscriber is not None
        s = self.settings
        for topic in (self.topic_path, self.dead_letter_topic_path):
            self.publisher.create_topic(name=topic)
        self.subscriber.create_subscription(
            name=self.dead_letter_subscription_path, topic=self.dead_letter_topic_path
        )
        if "bigquery_subscription" in s.routers:
            self.start_bigquery_subscription()
        if "function" in s.routers:
            self.start_push_subscription()

    def start_push_subscription(self) -> None:
        """The push subscription to the route function, and the relay that pushes (delivery "relay")."""
        assert self.subscriber is not None
        s = self.settings
        push = s.delivery == "emulator"
        self.subscriber.create_subscription(
            request={
                "name": self.push_subscription_path,
                "topic": self.topic_path,
                "push_config": {"push_endpoint": self.route_push_endpoint} if push else {},
                "ack_deadline_seconds": 60,
                "dead_letter_policy": {
                    "dead_letter_topic": self.dead_letter_topic_path,
                    "max_delivery_attempts": s.max_delivery_attempts,
                },
                "retry_policy": {
                    "minimum_backoff": duration_pb2.Duration(seconds=1),
                    "maximum_backoff": duration_pb2.Duration(seconds=10),
                },
            }
        )
        if not push:
            self.relay = PushRelay(
                emulator_subscriber(self.pubsub.host),
                self.push_subscription_path,
                self.route_push_endpoint,
                max_in_flight=s.route_threads,
            ).start()

    def start_bigquery_subscription(self) -> None:
        """The BigQuery subscription Terraform creates with router = "bigquery_subscription" (its
        dead-letter policy is the stand-in's to apply: it adds the reason; the emulator's is set too,
        so the emulator counts delivery attempts)."""
        assert self.publisher is not None and self.subscriber is not None
        s = self.settings
        self.subscriber.create_subscription(
            request={
                "name": self.bigquery_subscription_path,
                "topic": self.topic_path,
                "ack_deadline_seconds": 60,
                "dead_letter_policy": {
                    "dead_letter_topic": self.dead_letter_topic_path,
                    "max_delivery_attempts": s.max_delivery_attempts,
                },
            }
        )
        bigquery_host = (self.bigquery_proxy or self.bigquery_emulator).host
        self.bigquery_subscription = BigQuerySubscription(
            emulator_subscriber(self.pubsub.host),
            self.bigquery_subscription_path,
            self.publisher,
            self.dead_letter_topic_path,
            bigquery_client(s.project, f"http://{bigquery_host}"),
            f"{s.project}.{s.dataset_of('bigquery_subscription')}.{catalogue.LANDING_TABLE}",
            s.max_delivery_attempts,
        ).start()

    def wait_idle(self, quiet_seconds: float = 3.0, timeout: float = 180.0) -> bool:
        """Wait until the push relay and the BigQuery subscription (those running) had nothing to
        deliver for `quiet_seconds` (False on timeout).

        Without either (emulator delivery) there is nothing to observe: wait `quiet_seconds`.
        """
        deliveries = [
            delivery for delivery in (self.relay, self.bigquery_subscription) if delivery is not None
        ]
        if not deliveries:
            time.sleep(quiet_seconds)
            return True
        return all([delivery.wait_idle(quiet_seconds, timeout) for delivery in deliveries])

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay.subscriber.close()
        if self.bigquery_subscription is not None:
            self.bigquery_subscription.stop()
            self.bigquery_subscription.subscriber.close()
        for server in (self.ingest, self.route):
            if server is not None:
                server.stop()
        if self.jwks_server is not None and self.jwks_server._thread.is_alive():
            self.jwks_server.stop()
        for client in (self.subscriber,):
            if client is not None:
                client.close()
        for proxy in (self.pubsub_proxy, self.bigquery_proxy):
            if proxy is not None:
                proxy.stop()
        self.bigquery_emulator.stop()
        self.pubsub.stop()
        if self._previous_emulator_host is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = self._previous_emulator_host
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # Reading results ---------------------------------------------------------------------
    def query(self, sql: str, dataset: str | None = None) -> list[dict]:
        """Run `sql` with `{dataset}` replaced by the full name of `dataset` (default: the settings'); rows
        as dicts."""
        assert self.bigquery is not None
        sql = sql.replace("{dataset}", f"`{self.settings.project}.{dataset or self.settings.dataset}`")
        return [dict(row.items()) for row in self.bigquery.query(sql, timeout=60).result(timeout=60)]

    def landed_rows(self, dataset: str | None = None) -> dict[str, dict]:
        """The rows of events_log by event id, without the PER_DELIVERY columns: what any router
        landing the same events lands alike."""
        rows = self.query(f"SELECT * FROM {{dataset}}.{catalogue.LANDING_TABLE}", dataset)  # noqa: S608
        return {row["event_id"]: {k: v for k, v in row.items() if k not in PER_DELIVERY} for row in rows}
