"""Task change events, published by the download manager after every save.

SKELETON: the SSE helper replaces the body of this module (keep the two publish methods)."""

from offlinetube_api.models import Task


class TaskEvents:
    def publish(self, task: Task) -> None:
        """Called on the event loop right after a change of `task` was saved."""

    def publish_removed(self, task_id: str) -> None:
        """Called on the event loop right after a task and its files were removed."""
