"""Strings written into cdk.tf.json as literals, never as Terraform syntax.

Terraform evaluates every string of a JSON configuration as a template:
``${ ... }`` interpolates an expression (``file("~/.ssh/id_rsa")``, a data
source, a variable) and ``%{ ... }`` runs a directive. To mean the characters
themselves a string writes ``$${`` and ``%%{``
(developer.hashicorp.com/terraform/language/syntax/json "String Templates").

cdktf leaves plain strings as they are; the only ``${`` it writes itself are
its tokens. In Python a token is a placeholder such as ``${TfToken[TOKEN.12]}``
(a cross-stack reference, a resource attribute) that cdktf replaces with the
real expression at synth time. So `escape_template` escapes everything except
those placeholders. Config values never get here with ``${`` or ``%{`` (the
config rejects them), but Helm values files are free text.

Pure Python (no cdktf import): the tests read the synthesized JSON back with
`terraform_literal_value`, the way Terraform does.
"""

from __future__ import annotations

import re

#: cdktf's string token placeholder (BEGIN_STRING_TOKEN_MARKER "${TfToken[",
#: END_TOKEN_MARKER "]}" in cdktf's lib/tokens/private/encoding).
CDKTF_TOKEN = re.compile(r"\$\{TfToken\[[A-Za-z0-9_.-]+\]\}")
#: The text that starts a cdktf token; nothing outside code may contain it.
CDKTF_TOKEN_MARKER = "TfToken["

_OPENER = re.compile(r"([$%])\{")
#: Terraform's template escapes and their meaning.
_ESCAPED = re.compile(r"([$%])\1\{")


def escape_template(text: str) -> str:
    """`text` with every literal ``${`` / ``%{`` escaped; cdktf tokens left live.

    Raises ValueError for a ``$`` or ``%`` right before a token: Terraform
    would read the pair as an escape and the reference as text.
    """
    pieces: list[str] = []
    position = 0
    for token in CDKTF_TOKEN.finditer(text):
        literal = text[position : token.start()]
        if literal.endswith(("$", "%")):
            raise ValueError(
                f"a {literal[-1]!r} right before a Terraform reference cannot be written "
                "literally (Terraform would read it as an escape)"
            )
        pieces += [_escape_literal(literal), token.group()]
        position = token.end()
    pieces.append(_escape_literal(text[position:]))
    return "".join(pieces)


def _escape_literal(literal: str) -> str:
    return _OPENER.sub(lambda match: f"{match.group(1)}{match.group(0)}", literal)


def terraform_literal_value(text: str) -> tuple[str, list[str]]:
    """How Terraform reads a JSON string: (the text, the live template openers).

    ``$${`` reads as ``${`` and ``%%{`` as ``%{``; any other ``${`` or ``%{``
    starts live syntax and is listed, up to its first ``}`` (at most 500 characters:
    cross-stack references have long names).
    """
    live: list[str] = []
    out: list[str] = []
    index = 0
    while index < len(text):
        if _ESCAPED.match(text, index):
            out.append(text[index] + "{")
            index += 3
        elif _OPENER.match(text, index):
            end = text.find("}", index)
            live.append(text[index : end + 1 if 0 < end < index + 500 else index + 500])
            out.append(text[index : index + 2])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out), live
