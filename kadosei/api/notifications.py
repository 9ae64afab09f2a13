"""Provider notifications: ``POST /providers/{provider}/notifications`` (being built)."""

from flask import Blueprint

notifications_bp = Blueprint("notifications", __name__, url_prefix="/providers")
