"""``flask --app app …`` entry point."""

from kadosei import create_app
from kadosei.extensions import db

app = create_app()


@app.shell_context_processor
def shell_context() -> dict:
    import kadosei.models as models

    return {"db": db, "models": models}
