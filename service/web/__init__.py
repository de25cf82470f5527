"""Pages served by the service and the data they read.

    pages.py     /dashboard          crisis-room wall screen (static HTML/JS, reads the picture)
    console.py   /console            operator console: the queue and its items, acting through
                                     the triage API (static/console.js)
    login.py     /login, /logout     sign-in for both (token -> HttpOnly cookie; noodcore.signin)
    api.py       /api/v1/picture, GeoJSON
    render.py    Jinja2 templates (templates/), page language, security headers
    texts.py     every console and sign-in text in Dutch and English

Pages load nothing from other hosts: the crisis room has no internet.
"""
