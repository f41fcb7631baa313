"""The real app under uvicorn on a free 127.0.0.1 port, on the cloud harness's own loop (so a
test can also reach the database): for browsers, proxies and anything that needs real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from kentongan_cloud.api.app import create_app
from kentongan_protocol.provisioning.broker_process import free_port

from kentongan_testkit.cloudharness import CloudHarness


@contextmanager
def serve(h: CloudHarness) -> Iterator[str]:
    """Serve the app for `h`'s runtime over real HTTP; yields the base URL."""
    port = free_port()
    app = create_app(h.settings, runtime=h.runtime)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    done = asyncio.run_coroutine_threadsafe(server.serve(), h.loop)

    async def started() -> None:
        while not server.started:
            if done.done():
                return
            await asyncio.sleep(0.02)

    h.call(started(), timeout=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        done.result(timeout=20)
