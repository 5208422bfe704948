"""The command-line reference, from the argparse parser :func:`retainwise.cli.parser.build_parser`:
every command (subcommands included), its usage line, its description and each argument's help, so
a new option appears here the moment it is added to the parser."""

from __future__ import annotations

import argparse

from markdown_cells import cell, code, table

from retainwise.cli.parser import build_parser


def render() -> str:
    parser = build_parser()
    out = [_usage(parser), _arguments(parser), "Every command also takes `-h`/`--help`."]
    for path, sub, summary in _commands(parser, ["retainwise"]):
        out.append(_command(path, sub, summary))
    return "\n\n".join(part for part in out if part)


def _commands(parser: argparse.ArgumentParser, path: list[str], summary: str = ""):
    """Every (path, parser, one-line help) below ``parser``, depth first, in the parser's order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield [*path, name], sub, helps.get(name) or ""
                yield from _commands(sub, [*path, name])


def _command(path: list[str], parser: argparse.ArgumentParser, summary: str) -> str:
    parts = [f"## `{' '.join(path)}`", cell(summary[:1].upper() + summary[1:])]
    if parser.description and parser.description != summary:
        parts.append(cell(parser.description))
    parts += [_usage(parser), _arguments(parser)]
    return "\n\n".join(p for p in parts if p)


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = " ".join(parser.format_usage().removeprefix("usage:").split())
    return f"```text\n{usage}\n```"


def _arguments(parser: argparse.ArgumentParser) -> str:
    rows = []
    for action in parser._actions:
        if (
            isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
            or action.help == argparse.SUPPRESS
        ):
            continue
        name = ", ".join(action.option_strings) or action.metavar or action.dest
        if action.choices and not action.option_strings and not isinstance(action.choices, dict):
            name = f"{name} ({'/'.join(map(str, action.choices))})"
        rows.append([code(name), cell(action.help or ""), _default(action)])
    return table(["argument", "what", "default"], rows) if rows else ""


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if action.default is None or action.default is argparse.SUPPRESS or action.nargs == 0:
        return ""
    return code(action.default)
