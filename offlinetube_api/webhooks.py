"""Webhook notifications of final task states.

SKELETON: the webhook helper replaces the body of this module (keep this interface)."""

from offlinetube_api.models import Task


class WebhookNotifier:
    def __init__(self, url: str, secret: str | None) -> None:
        self._url = url
        self._secret = secret

    def start(self) -> None:
        """Start the background sender; call on the running event loop."""

    def notify(self, task: Task) -> None:
        """Queue a POST for a task that reached a final state. Never blocks."""

    async def close(self, timeout: float) -> None:
        """Stop the sender, giving queued deliveries up to `timeout` seconds."""
