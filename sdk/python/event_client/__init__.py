"""Python client of the otelcol-events HTTP API (standard library only).

>>> from event_client import EventClient
>>> client = EventClient("http://localhost:8080")        # doctest: +SKIP
>>> event_id = client.track_event(conversation_id="conv_123",
...                               event_name="event_a")   # doctest: +SKIP
"""

__version__ = "0.1.0"

from .client import EventClient, Timestamp, new_event_id
from .errors import (
    AuthError,
    EventClientError,
    NotFoundError,
    QueueFullError,
    ServerUnavailableError,
    ValidationError,
)
from .retry import RetryPolicy

__all__ = [
    "EventClient",
    "RetryPolicy",
    "EventClientError",
    "ValidationError",
    "NotFoundError",
    "AuthError",
    "ServerUnavailableError",
    "QueueFullError",
    "Timestamp",
    "new_event_id",
    "__version__",
]
