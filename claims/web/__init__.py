"""The web workspace (``claims serve``): Starlette on uvicorn, Jinja2 templates in Chinese.

Routes stay thin (parse, call one workflow function, render); proving who acts, session expiry, CSRF and
the security headers are all in ``guard.py`` so no route can forget them.
"""
