"""schemaops explain reads as text: no reST or Markdown markup left, for every rule."""

from __future__ import annotations

from click.testing import CliRunner

from schemaops.checks import RULES
from schemaops.cli.rules import explain_command


def test_explain_shows_no_markup_for_any_rule():
    runner = CliRunner()
    for code in RULES:
        result = runner.invoke(explain_command, [code])
        assert result.exit_code == 0, result.output
        assert "``" not in result.output and "```" not in result.output, code


def test_code_blocks_are_indented_and_inline_code_is_kept():
    result = CliRunner().invoke(explain_command, ["SO201"])
    assert '    index = models.Index(fields=["created"], name="order_created_idx")' in (
        result.output
    )
    assert "AddIndexConcurrently (django.contrib.postgres.operations)" in result.output
