"""The web pages, one module per area of work (see claims/web/site.py)."""
