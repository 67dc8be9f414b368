"""Subscriptions: a channel or playlist named once, checked on a schedule, each new video
queued as a task tagged with the subscription's id."""
