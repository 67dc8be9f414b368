"""`python -m tests.queue.worker_process <database url> <concurrency>`: a real worker, with the
recording runner, in a process of its own (for the tests that kill one). Prints `ready` once
it takes jobs; closes on SIGTERM."""

import asyncio
import signal
import sys

from tests.queue.harness import api_queue, make_worker


async def main(database_url: str, concurrency: int) -> None:
    async with api_queue(database_url) as side:
        worker = make_worker(side, concurrency=concurrency, shutdown_timeout=4.0)
        await worker.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await worker.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
