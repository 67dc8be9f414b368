"""`python -m tests.queue.worker_process <database url> <concurrency>`: a real worker, with the
recording runner, in a process of its own (for the tests that kill or stop one), run the way
`offlinetube-api worker` runs it. Prints `ready` once it takes jobs; closes on SIGTERM."""

import asyncio
import sys

from offlinetube_api.queue.worker import until_stopped
from tests.queue.harness import api_queue, make_worker


async def main(database_url: str, concurrency: int) -> int:
    async with api_queue(database_url) as side:
        worker = make_worker(side, concurrency=concurrency, shutdown_timeout=4.0)
        await worker.start()
        try:
            print("ready", flush=True)
            return await until_stopped(worker)
        finally:
            await worker.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
