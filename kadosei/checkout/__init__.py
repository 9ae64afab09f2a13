"""The customer-facing checkout: redirect to the provider and back (being built)."""

from flask import Blueprint

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
