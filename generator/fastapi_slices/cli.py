"""The `gen` command."""

import typer

app = typer.Typer(help="Grow a fastapi-slices project one entity slice at a time.")


def main() -> None:
    app()
