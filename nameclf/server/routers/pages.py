"""The web page at `/` and the interactive docs at /docs (Swagger UI) and /redoc (ReDoc), all served
from files inside the installed packages: no CDN, so they work offline."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC = Path(__file__).resolve().parents[1] / "static"
PAGE_POLICY = (  # the page loads nothing from anywhere but this server
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc style their pages inline and ReDoc searches in a worker; their one inline script
# (Swagger UI's start-up) is allowed by its hash, and images come only from here.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
router = APIRouter(include_in_schema=False)


def with_docs_policy(page: HTMLResponse) -> HTMLResponse:
    """The docs page with a Content-Security-Policy that allows its own inline script and nothing else."""
    scripts = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]
    page.headers["content-security-policy"] = DOCS_POLICY.format(scripts=" ".join(scripts)).replace("  ", " ")
    return page


def docs_assets() -> Path:
    """Swagger UI's and ReDoc's files, as the fastapi-offline package ships them."""
    return Path(str(files("fastapi_offline") / "static"))


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=docs_assets()), name="docs-assets")


# ReDoc's bundle draws its footer logo from a CDN whatever its options say: served with this server's
# icon in its place, the page asks nothing of anywhere else
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def redoc_bundle() -> bytes:
    return (docs_assets() / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO, b"static/favicon.svg")


@router.get("/redoc.js")
async def redoc_script() -> Response:
    return Response(redoc_bundle(), media_type="text/javascript", headers={"cache-control": "max-age=86400"})


@router.get("/")
async def page() -> Response:
    return FileResponse(STATIC / "index.html", headers={"content-security-policy": PAGE_POLICY})


# The pages name their files relative to themselves, so they work behind a proxy that serves this
# server under a path (https://example.org/nameclf/docs) as well as at a host's root.


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    return with_docs_policy(
        get_swagger_ui_html(
            openapi_url="openapi.json",
            title=f"{request.app.title} - API",
            swagger_js_url="docs-assets/swagger-ui-bundle.js",
            swagger_css_url="docs-assets/swagger-ui.css",
            swagger_favicon_url="static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
        )
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return with_docs_policy(
        get_redoc_html(
            openapi_url="openapi.json",
            title=f"{request.app.title} - API",
            redoc_js_url="redoc.js",
            redoc_favicon_url="static/favicon.svg",
            with_google_fonts=False,
        )
    )
