"""The typer application object and the one place errors become exit codes.

Each command lives in its own module of `planner.cli` and registers itself on `app`;
commands parse options, make one library call and render.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar, TypeVar

import typer
from typer.core import TyperCommand

from planner._version import __version__
from planner.errors import EXIT_INPUT, PlannerError

app = typer.Typer(
    name="planner",
    help=(
        "Capacity planner and autoscaling simulator for model-serving web services "
        "(Azure ML on AKS, Kubernetes HPA, Knative).\n\n"
        "Start with `planner recommend --rps 20`.\n\n"
        "Exit codes: 0 ok; 1 the SLO was missed or the prediction disagrees; "
        "2 a usage or input error (including an invalid scenario file); "
        "3 a runtime failure (a deployment that would not start)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

F = TypeVar("F", bound=Callable[..., Any])


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"planner {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print `planner <version>` and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Capacity planner and autoscaling simulator (help text: the app's)."""


def aliased(aliases: dict[str, str]) -> type[TyperCommand]:
    """A command class that accepts old option names as hidden aliases of the new ones.

    `aliases` maps an old name to the current one (`{"--max-wait": "--max-request-wait-s"}`).
    The old names are rewritten in the arguments before parsing, so they work exactly as the
    new ones (also as `--old=VALUE`) while `--help` lists only the new names.
    """

    class AliasedCommand(TyperCommand):
        hidden_aliases: ClassVar[dict[str, str]] = dict(aliases)

        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            rewritten: list[str] = []
            for i, arg in enumerate(args):
                if arg == "--":  # everything after it is an argument, never an option
                    rewritten.extend(args[i:])
                    break
                name, eq, value = arg.partition("=")
                if name in self.hidden_aliases:
                    arg = self.hidden_aliases[name] + eq + value
                rewritten.append(arg)
            return super().parse_args(ctx, rewritten)

    return AliasedCommand


def fail(message: str, code: int = EXIT_INPUT) -> typer.Exit:
    """Print `message` as one line on stderr and return the Exit to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def handles_errors(func: F) -> F:
    """Decorate a command so a PlannerError becomes a one-line message and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PlannerError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def stdout_is_terminal() -> bool:
    """True when stdout is an interactive terminal (progress bars only then)."""
    return sys.stdout.isatty()
