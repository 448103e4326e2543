"""`planner schema`: print the JSON Schema of scenario files (docs/scenario.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from planner.cli._app import app, handles_errors
from planner.errors import ScenarioError


def schema_text() -> str:
    """The JSON Schema of a scenario file as the committed docs/scenario.schema.json holds it."""
    from planner.scenario import json_schema

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


@app.command()
@handles_errors
def schema(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the schema to this file instead of printing it "
            "(docs/scenario.schema.json is generated this way).",
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of scenario files, for editors and validators.

    Scenario files that start with
    `# yaml-language-server: $schema=../docs/scenario.schema.json` are validated and
    completed by editors that run the YAML language server.
    """
    text = schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
