"""The API reference at ``/docs`` and the quickstart, public pages for anyone integrating.

Anyone may read them; a logged-in merchant sees the quickstart filled in with one of their
own applications.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from kadosei.services import applications
from kadosei.services.checkout_links import public_base_url

bp = Blueprint("docs", __name__)

# The reference reads the document from this URL only, whatever builds it (contract §2).
OPENAPI_URL = "/api/v1/openapi.json"


@bp.get("/docs")
def api_reference():
    return render_template("docs/reference.html", openapi_url=OPENAPI_URL)


@bp.get("/docs/quickstart")
def quickstart():
    own_applications = []
    if current_user.is_authenticated:
        own_applications = applications.list_applications(
            current_user.merchant_id, include_archived=False
        )
    return render_template(
        "docs/quickstart.html",
        base_url=public_base_url(),
        applications=own_applications,
        application=_chosen(own_applications, request.args.get("application")),
        openapi_url=OPENAPI_URL,
    )


def _chosen(own_applications: list, wanted: str | None):
    """The application the merchant picked (``?application=app_…``), else their newest."""
    for application in own_applications:
        if application.id == wanted:
            return application
    return own_applications[0] if own_applications else None
