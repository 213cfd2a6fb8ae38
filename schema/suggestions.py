"""No schema hints when introspection is off: graphql-core's validation and variable coercion
errors end with "Did you mean 'x'?", which spells out field, argument, type and enum names to
whoever guesses near them — the schema piece by piece. With PESO_INTROSPECTION=false this
extension drops those hints from every error of a request (validation and execution)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

# graphql-core's did_you_mean(): " Did you mean 'a'?", " Did you mean 'a' or 'b'?",
# " Did you mean the enum value 'A'?", " Did you mean to use an inline fragment on 'T'?"
# — at the end or mid-message (input coercion: "… Did you mean 'column'? Found: …"); GraphQL
# names hold no '?', so the hint ends at the first one
_HINT = re.compile(r"\s*Did you mean\b[^?]*\?")


def without_hint(message: str) -> str:
    return _HINT.sub("", message)


def _strip(errors: Iterable[GraphQLError] | None) -> None:
    for error in errors or ():
        error.message = without_hint(error.message)


class NoSuggestions(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        _strip(self.execution_context.pre_execution_errors)

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None:
            _strip(result.errors)
