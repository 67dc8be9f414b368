from fastapi import APIRouter

from offlinetube_api.api.routes import download, downloads, health, stream, thumbnails

api_router = APIRouter()
for module in (download, downloads, stream, thumbnails, health):
    api_router.include_router(module.router)
