"""Job queues: where and when each queued task's download runs (see ports.JobQueue)."""
