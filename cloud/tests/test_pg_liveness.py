"""PostgreSQL's pooled connections are checked at checkout without a statement: a session
the server ended is replaced before anyone uses it, and a live one costs no ping."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kentongan_cloud.store.db import Database
from kentongan_testkit.pgserver import PgServer
from sqlalchemy import event, text


def test_a_session_the_server_ended_is_replaced_and_a_live_one_is_not_pinged(
    postgres_server: PgServer, postgres_database: str
) -> None:
    statements: list[str] = []

    async def backend_pid(db: Database) -> int:
        async with db.engine.begin() as conn:
            return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    async def go() -> tuple[int, int, int]:
        db = Database(postgres_server.url(postgres_database))

        def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            first = await backend_pid(db)
            again = await backend_pid(db)  # the same pooled connection, checked, not pinged
            with postgres_server.connect(postgres_database) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the backend's goodbye reaches the socket
                await asyncio.sleep(0.05)
                with postgres_server.connect(postgres_database) as admin:
                    gone = admin.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,)
                    ).fetchone()
                if gone is not None and gone[0] == 0:
                    break
            after = await backend_pid(db)  # no error: the pool took a fresh connection
            return first, again, after
        finally:
            await db.close()

    first, again, after = asyncio.run(go())
    assert again == first
    assert after != first
    assert statements == ["SELECT pg_backend_pid()"] * 3  # no ping before any of them
