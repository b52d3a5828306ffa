"""``schemaops rules`` and ``schemaops explain CODE``."""

from __future__ import annotations

import json

import click

RULES_EPILOG = """\b
Examples:
  schemaops rules --format json
  schemaops rules --format markdown --full > docs/rules.md   # the rules reference
"""


@click.command("rules", epilog=RULES_EPILOG)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option(
    "--full",
    is_flag=True,
    help="With --format markdown: the whole reference, every rule's docs (docs/rules.md).",
)
def rules_command(fmt: str, full: bool) -> None:
    """List every migration rule: code, name, default severity, summary."""
    from schemaops.rules import registered

    RULES = registered()

    if full:
        if fmt != "markdown":
            raise click.UsageError("--full needs --format markdown")
        from schemaops.docs import rules_reference

        click.echo(rules_reference(list(RULES.values())), nl=False)
        return
    rules = [r for r in RULES.values() if not r.retired]
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "severity": r.severity.label,
                        "category": r.category,
                        "summary": r.summary,
                    }
                    for r in rules
                ],
                indent=2,
            )
        )
        return
    if fmt == "markdown":
        click.echo("| code | name | severity | summary |\n|---|---|---|---|")
        for r in rules:
            click.echo(f"| {r.code} | {r.name} | {r.severity.label} | {r.summary} |")
        return
    width = max(len(r.name) for r in rules)
    for r in rules:
        click.echo(f"{r.code}  {r.name:<{width}}  {r.severity.label:<7}  {r.summary}")


@click.command(
    "explain", epilog="Example: schemaops explain SO201   (or: add-index-non-concurrently)"
)
@click.argument("rule")
def explain_command(rule: str) -> None:
    """Explain one rule: what it flags, which lock, and the safe recipe."""
    from schemaops.errors import ConfigError
    from schemaops.rules import lookup

    found = lookup(rule)
    if found is None:
        raise ConfigError(f"unknown rule {rule!r} (see `schemaops rules`)")
    from schemaops.docs import rule_sections

    sections = rule_sections(found)
    click.echo(
        click.style(f"{found.code} {found.name}", bold=True)
        + f" ({found.severity.label}, {found.category})"
    )
    click.echo(found.summary)
    for title, body in sections.items():
        if title:
            click.echo("\n" + click.style(title, bold=True, underline=True))
            click.echo(body)
