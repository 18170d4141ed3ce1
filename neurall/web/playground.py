"""The playground web app's built files, served at ``/``.

The app's sources live in ``playground/`` at the repository root; ``make`` (or ``npm run
build`` there) writes the build into ``playground_dist/`` beside this module, which is
git-ignored and shipped as package data. The app talks to the server only through the
public GraphQL API, with the session cookie and the CSRF rules as they are.

- ``/`` and every app path answer ``index.html`` (``no-cache``: a deploy is picked up on
  the next load), so deep links and reloads work, and a path the app does not know shows
  the app's own not-found page. Server routes (``/graphql``) and every path under a server
  route's first segment (``/images/...``, ``/webhooks/...``) are never shadowed: a wrong
  method or sub-path there still gets the server's own answer, not the app. A bare segment
  with no route of its own (``/webhooks``, the app's webhooks page) is an app path.
- ``/assets/...`` have content hashes in their names, so they are cached for a year.
- Every app response carries a Content-Security-Policy: scripts from this origin only and
  no inline script, so an injected ``<script>`` cannot run.
- In development a browser's ``GET /graphql`` gets the app too, which opens its API
  explorer (GraphiQL from npm, bundled): Strawberry's own GraphiQL loads from a CDN and
  never finishes loading offline.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import hdrs, web

from neurall.config import Settings
from neurall.web.origins import normalize_origin

DIST_DIR = Path(__file__).parent / "playground_dist"
ASSET_CACHE = "public, max-age=31536000, immutable"
ROOT_FILE_CACHE = "public, max-age=3600"
NOT_BUILT = (
    "The playground web app is not built. Run `make serve`, or build it by hand with "
    "`cd playground && npm ci && npm run build`; it is written to "
    "neurall/web/playground_dist/. The GraphQL API at /graphql works without it.\n"
)
# Host headers echoed into the policy's websocket source must look like a host: anything
# else (a header injection attempt, an odd proxy) falls back to 'self' alone.
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?\Z|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?\Z")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def content_security_policy(request: web.Request, settings: Settings) -> str:
    """The policy for app responses. Image URLs and the websocket use the public URL's
    origin, which can differ from the address the browser used (a proxy, localhost)."""
    sockets: list[str] = []
    host = request.headers.get(hdrs.HOST, "")
    if _HOST.match(host):
        sockets += [f"ws://{host}", f"wss://{host}"]
    public = normalize_origin(settings.public_url)
    publics = [] if public is None else [public]
    sockets += [p.replace("http", "ws", 1) for p in publics]
    connect = " ".join(dict.fromkeys(["'self'", *publics, *sockets]))
    images = " ".join(dict.fromkeys(["'self'", "data:", "blob:", *publics]))
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        # GraphiQL's dialogs (Radix) inject a <style> element; scripts stay strict.
        "style-src 'self' 'unsafe-inline'; "
        # Previews arrive as data: URLs; chosen photos are shown from blob: URLs.
        f"img-src {images}; "
        f"connect-src {connect}; "
        "font-src 'self' data:; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


class Playground:
    """Serves one build directory; looks files up per request, so a build made while the
    server runs is picked up without a restart."""

    def __init__(self, settings: Settings, dist: Path) -> None:
        self.settings, self.dist = settings, dist

    def _headers(self, request: web.Request, cache: str) -> dict[str, str]:
        return {
            "Cache-Control": cache,
            "Content-Security-Policy": content_security_policy(request, self.settings),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        }

    def built(self) -> bool:
        return (self.dist / "index.html").is_file()

    async def index(self, request: web.Request) -> web.StreamResponse:
        index = self.dist / "index.html"
        if not index.is_file():
            return web.Response(status=503, text=NOT_BUILT, headers={"Cache-Control": "no-store"})
        return web.FileResponse(index, headers=self._headers(request, "no-cache"))

    async def asset(self, request: web.Request) -> web.StreamResponse:
        path = self._inside(self.dist / "assets", request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound(text="not found")
        return web.FileResponse(path, headers=self._headers(request, ASSET_CACHE))

    async def fallback(self, request: web.Request) -> web.StreamResponse:
        """Root files of the build (favicon.svg) or, for any app path, index.html."""
        tail = request.match_info["tail"]
        if "/" not in tail and tail != "index.html":
            path = self._inside(self.dist, tail)
            if path is not None:
                return web.FileResponse(path, headers=self._headers(request, ROOT_FILE_CACHE))
        if "." in tail.rsplit("/", 1)[-1]:
            # A missing file (an old hashed asset, a typo) is a 404, not the app.
            raise web.HTTPNotFound(text="not found")
        return await self.index(request)

    @staticmethod
    def _inside(root: Path, relative: str) -> Path | None:
        """``root/relative`` when it is a file inside root (no ``..`` escapes)."""
        if not relative or "\\" in relative or "\x00" in relative:
            return None
        try:
            path = (root / relative).resolve()
            path.relative_to(root.resolve())
        except (ValueError, OSError):
            return None
        return path if path.is_file() else None

    def graphiql_middleware(self) -> Middleware:
        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if (
                request.method == "GET"
                and request.path == "/graphql"
                and "text/html" in request.headers.get(hdrs.ACCEPT, "")
                and hdrs.UPGRADE not in request.headers
                and self.built()
            ):
                return await self.index(request)
            return await handler(request)

        return middleware


def add_playground(app: web.Application, settings: Settings, dist: Path = DIST_DIR) -> None:
    """Registers the app's routes. Call it after every other route: the catch-all must
    come last, and the first path segments of the routes already there are kept off it."""
    canonicals = [resource.canonical for resource in app.router.resources()]
    reserved = frozenset(
        segment for canonical in canonicals if (segment := canonical.lstrip("/").split("/", 1)[0])
    )
    # A server route at exactly /<segment> keeps that path too (/graphql, /healthz); a bare
    # segment with no route of its own (/webhooks, /images) is an app path like any other,
    # so it gets the app (and its own not-found page) instead of a bare 404.
    exact = frozenset(c.lstrip("/") for c in canonicals if "/" not in c.lstrip("/")) - {""}
    playground = Playground(settings, dist)
    app.router.add_get("/", playground.index)
    app.router.add_get("/assets/{path:.+}", playground.asset)
    # The catch-all does not even match under a server route's first segment, so a wrong
    # method or sub-path there keeps the server's answer (405, 404), never the app.
    under = "|".join(re.escape(segment) for segment in sorted(reserved | {"assets"}))
    taken = "|".join(re.escape(path) for path in sorted(exact | {"assets"}))
    app.router.add_get(
        f"/{{tail:(?!(?:{under})/)(?!(?:{taken})$).+}}",
        playground.fallback,
    )
    if not settings.production:
        app.middlewares.append(playground.graphiql_middleware())
