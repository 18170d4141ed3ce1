"""GET /exports/{id}: a data export's zip, to its owner's signed-in session only.

Anyone else, an API key, a missing, unfinished or expired export all get the same 404.
"""

from __future__ import annotations

from aiohttp import web

from neurall.privacy.export import downloadable
from neurall.services import Services
from neurall.web.auth import authenticate


def export_handler(services: Services):
    async def handler(request: web.Request) -> web.Response:
        not_found = web.Response(status=404, text="not found")
        viewer = await authenticate(request, services.settings)
        if viewer is None or viewer.session is None:
            return not_found
        export = await downloadable(viewer.account.id, request.match_info["export_id"])
        if export is None or export.storage_key is None:
            return not_found
        data = await services.storage.get(export.storage_key)
        if data is None:
            return not_found
        return web.Response(
            body=data,
            content_type="application/zip",
            headers={
                "Cache-Control": "private, no-store",
                "Content-Disposition": f'attachment; filename="neurall-export-{export.id}.zip"',
            },
        )

    return handler
