"""The web app at `/`: server-rendered pages (Jinja2) over the same service objects the API
routes use, with htmx and small ES modules vendored in `static/`; see install.py."""
