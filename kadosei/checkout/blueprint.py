"""The checkout blueprint (``/checkout``): public pages, no login."""

from flask import Blueprint

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
