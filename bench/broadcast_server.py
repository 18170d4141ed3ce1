"""The fan-out baseline: a bare aiohttp server that writes one pre-serialized
graphql-transport-ws "next" message to every socket of a topic, with no GraphQL, no bus and
no database. Delivery latency through it, measured with the same client as through
`neurall serve`, is what this machine and that client cost by themselves.

`python -m bench.broadcast_server PORT`; GET /ws?topic=T opens a socket, and
GET /fire?topic=T&seq=N sends event N to every socket of T.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

from aiohttp import WSMsgType, web

SOCKETS = web.AppKey("sockets", dict[str, set[web.WebSocketResponse]])


async def websocket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(protocols=["graphql-transport-ws"])
    await socket.prepare(request)
    topic = request.app[SOCKETS][request.query["topic"]]
    topic.add(socket)
    try:
        async for message in socket:
            if message.type is WSMsgType.ERROR:
                break
    finally:
        topic.discard(socket)
    return socket


async def fire(request: web.Request) -> web.Response:
    event = {"seq": int(request.query["seq"]), "type": "PROGRESS", "step": 1, "status": "RUNNING"}
    payload = json.dumps({"data": {"jobEvents": event}})
    message = f'{{"id":"1","type":"next","payload":{payload}}}'  # serialized once per event
    for socket in list(request.app[SOCKETS][request.query["topic"]]):
        await socket.send_str(message)
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app[SOCKETS] = defaultdict(set)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/fire", fire)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
