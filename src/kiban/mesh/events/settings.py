"""How a gateway carries events: the transport, retries and the NATS JetStream set-up.

Pydantic models, so that they can sit in the gateway's ``gateway.toml`` as an ``[events]``
table and be refused there with a clear message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DAY = 24 * 60 * 60.0


class RetryPolicy(BaseModel):
    """Exponential back-off: after the n-th failed attempt, wait ``first_delay·factorⁿ⁻¹``
    seconds (at most ``max_delay``); after ``max_attempts`` failures, the event becomes a
    dead letter and the subject's next events go on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=10, ge=1)
    first_delay: float = Field(default=1.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_delay: float = Field(default=600.0, gt=0)

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed attempts (one or more)."""
        return float(min(self.max_delay, self.first_delay * self.factor ** (failures - 1)))


class NatsSettings(BaseModel):
    """Where the JetStream stream is and how its consumers behave."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "nats://127.0.0.1:4222"
    connect_timeout: float = Field(default=10.0, gt=0)  # for the first connection
    stream: str = Field(default="KIBAN_EVENTS", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # Subjects are ``{prefix}.events.{publisher, dots for slashes}.{type}``.
    prefix: str = Field(default="kiban", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    # How long a subscriber's dispatcher may hold an event without saying it is still on it
    # (it says so every third of this): past it, JetStream hands the event out again.
    ack_wait: float = Field(default=30.0, ge=0.3)
    # Events a subscriber may hold un-acknowledged (being delivered, or waiting behind an
    # earlier event of their subject); past it, that subscriber's other subjects wait too.
    max_ack_pending: int = Field(default=10_000, ge=1)
    max_age: float = Field(default=14 * DAY, gt=0)  # how long the stream keeps an event
    duplicate_window: float = Field(default=600.0, gt=0)  # a relayed event is not stored twice


class EventSettings(BaseModel):
    """The events of one gateway.  ``transport``: ``database`` (the default: nothing but the
    gateway's database) or ``nats`` (the outbox relayed to NATS JetStream)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["database", "nats"] = "database"
    retry: RetryPolicy = RetryPolicy()
    nats: NatsSettings = NatsSettings()
    batch: int = Field(default=100, ge=1)  # events a dispatcher takes at a time
    concurrency: int = Field(default=16, ge=1)  # deliveries in flight per subscriber
    poll_interval: float = Field(default=1.0, gt=0)  # looking for others' publications
    # A dispatcher holds each subscriber for this long, renewed every third of it; a
    # dispatcher that dies is replaced this long after.
    lease_ttl: float = Field(default=15.0, gt=0)
