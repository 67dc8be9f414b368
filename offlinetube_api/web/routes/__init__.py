"""One module per screen, each with `pages` (GET routes) and `actions` (form posts, mounted
under `/app` by web/router.py)."""
