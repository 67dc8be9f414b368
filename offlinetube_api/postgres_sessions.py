"""Settings of every session this service opens on PostgreSQL (the store's pool and the queue's).

A host that vanishes (its cable pulled, its VM frozen) between two statements of a transaction
leaves its session idle in that transaction, holding what it locked: a task's row, and in the
store's writes EVENT_ORDER_LOCK, which every host's writes take. PostgreSQL notices a dead peer
only when TCP gives up on it, two hours and more with the kernel's defaults, and until then
every write of every host would wait. With `idle_in_transaction_session_timeout` the server
ends such a session itself, rolling its transaction back. Our transactions send their
statements back to back, milliseconds apart, so the bound is far from anything they need.
Source: https://www.postgresql.org/docs/15/runtime-config-client.html
"""

from psycopg.conninfo import conninfo_to_dict

# Seconds a session may sit idle inside a transaction before the server ends it: how long the
# other hosts' writes may wait for a lost host's locks. Under the stalled-worker delay (30 s by
# default), so the lost host's tasks are free again when the upkeep runs them elsewhere.
ABANDONED_TRANSACTION_S = 10


def session_options(url: str) -> str:
    """The `options` connection parameter (libpq's `-c name=value` list, a string) for a
    session on the database at `url`: the URL's own options, if any, then ours."""
    own = str(conninfo_to_dict(url).get("options") or "")
    ours = f"-c idle_in_transaction_session_timeout={ABANDONED_TRANSACTION_S * 1000}"
    return f"{own} {ours}".strip()
