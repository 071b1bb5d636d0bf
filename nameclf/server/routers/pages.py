"""The web page at `/` and the interactive docs at /docs (Swagger UI) and /redoc (ReDoc), all served
from files inside the installed packages: no CDN, so they work offline."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "static"
PAGE_POLICY = (  # the page loads nothing from anywhere but this server
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
router = APIRouter(include_in_schema=False)


def docs_assets() -> Path:
    """Swagger UI's and ReDoc's files, as the fastapi-offline package ships them."""
    return Path(str(files("fastapi_offline") / "static"))


def mount_static(app) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=docs_assets()), name="docs-assets")


@router.get("/")
async def page() -> Response:
    return FileResponse(STATIC / "index.html", headers={"content-security-policy": PAGE_POLICY})


# The pages name their files relative to themselves, so they work behind a proxy that serves this
# server under a path (https://example.org/nameclf/docs) as well as at a host's root.


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="openapi.json",
        title=f"{request.app.title} - API",
        swagger_js_url="docs-assets/swagger-ui-bundle.js",
        swagger_css_url="docs-assets/swagger-ui.css",
        swagger_favicon_url="static/favicon.svg",
        swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url="openapi.json",
        title=f"{request.app.title} - API",
        redoc_js_url="docs-assets/redoc.standalone.js",
        redoc_favicon_url="static/favicon.svg",
        with_google_fonts=False,
    )
