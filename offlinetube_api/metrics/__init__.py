"""Prometheus metrics, every name starting with `offlinetube_`: what this process counts
(downloads it ran, HTTP requests it answered) and what is read at scrape time (the queue, the
tasks by status, free space, open event streams). One registry per app, never the library's
global one, so several apps in one process (the tests) keep their figures apart."""
