"""GET /exports/{id}: a data export's zip, to its owner's signed-in session only.

Anyone else, an API key, a missing, unfinished or expired export all get the same 404.
The zip streams from storage (neurall.web.downloads); it stays until the export expires.
"""

from __future__ import annotations

from aiohttp import web

from neurall.privacy.export import downloadable
from neurall.services import Services
from neurall.web.auth import authenticate
from neurall.web.downloads import send_object


def export_handler(services: Services):
    async def handler(request: web.Request) -> web.StreamResponse:
        not_found = web.Response(status=404, text="not found")
        viewer = await authenticate(request, services.settings)
        if viewer is None or viewer.session is None:
            return not_found
        export = await downloadable(viewer.account.id, request.match_info["export_id"])
        if export is None or export.storage_key is None:
            return not_found
        response = await send_object(
            request,
            services.storage,
            export.storage_key,
            content_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="neurall-export-{export.id}.zip"'
            },
        )
        return not_found if response is None else response

    return handler
