"""Domain events: what happened, said once by the domain, reacted to by subscribers.

The domain calls ``events.record`` in the transaction of the change (neurall.events.outbox);
the relay (neurall.events.relay) hands each committed event to the subscribers registered
above the domain (neurall.subscribers). See docs/events.md.
"""

from neurall.events.outbox import announcing, record
from neurall.events.types import EventType

__all__ = ["EventType", "announcing", "record"]
