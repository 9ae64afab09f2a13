"""``gunicorn wsgi:app``."""

from kadosei import create_app

app = create_app()
