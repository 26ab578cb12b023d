"""Events for push-type services, which X-Road lacks (docs/mesh-events.md).

A publisher (a member, e.g. 千代田区) publishes events such as ``moved-out`` about a subject;
each authorised subscriber (a subsystem) receives every event of the types it subscribed to
at least once, in order per subject, with retries and a dead-letter list; its inbox takes each
event once.  The publisher's gateway holds an :class:`EventBus`; the subscriber's gateway an
:class:`Inbox`.
"""

from kiban.mesh.events.bus import EventBus
from kiban.mesh.events.event import PAYLOAD_MAX, SUBJECT_MAX, Event, EventError
from kiban.mesh.events.inbox import Effect, Handler, Inbox
from kiban.mesh.events.settings import EventSettings, NatsSettings, RetryPolicy
from kiban.mesh.events.store import DeadLetter, EventStore, Publication, Subscription
from kiban.mesh.events.transport import Deliver, TransportUnavailable

__all__ = [
    "PAYLOAD_MAX",
    "SUBJECT_MAX",
    "DeadLetter",
    "Deliver",
    "Effect",
    "Event",
    "EventBus",
    "EventError",
    "EventSettings",
    "EventStore",
    "Handler",
    "Inbox",
    "NatsSettings",
    "Publication",
    "RetryPolicy",
    "Subscription",
    "TransportUnavailable",
]
