"""A limit is declared once (``kadosei.schemas.limits``): the API's validation, the portal's
form, the database column and the OpenAPI document all follow it. Proved by changing one
limit before kadosei is imported (in a fresh interpreter, so this process keeps the real one)
and watching all four move with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
import kadosei.schemas.limits as limits
limits.APPLICATION_NAME_MAX = 7

from kadosei import create_app
from wtforms.validators import Length

app = create_app({"KADOSEI_ENV": "testing", "SECRET_KEY": "x" * 40,
                  "DATABASE_URL": "sqlite://", "WTF_CSRF_ENABLED": False})
from kadosei.api.openapi import openapi_document
from kadosei.errors import KadoseiError
from kadosei.models import Application
from kadosei.portal.forms import ApplicationForm
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import ApplicationCreate

def refused(name):
    try:
        parse(ApplicationCreate, {"name": name})
    except KadoseiError as exc:
        return exc.param
    return None

with app.test_request_context():
    form = ApplicationForm()
    lengths = [v.max for v in form.name.validators if isinstance(v, Length)]
schema = openapi_document()["components"]["schemas"]["ApplicationCreate"]
print(json.dumps({
    "api_refuses": [refused("x" * 7), refused("x" * 8)],
    "form": lengths,
    "column": Application.__table__.c.name.type.length,
    "openapi": schema["properties"]["name"]["maxLength"],
}))
"""


def test_changing_a_limit_in_one_place_changes_api_form_column_and_document():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen == {"api_refuses": [None, "name"], "form": [7], "column": 7, "openapi": 7}
