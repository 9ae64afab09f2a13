"""The sandbox providers' hosted payment pages under ``/sandbox/…`` (being built)."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
