"""Schema extensions of our own: the order of defence, and introspection for admins.

The order of defence, cheapest first (ARCHITECTURE.md, "Errors"):

1. body size             ``api.graphql.BodyLimit``           413 before the body is read
2. parse, token limit    Strawberry's ``MaxTokensLimiter``; ``ParseCache``
3. authentication        ``Defence``: anonymous requests stop here, UNAUTHENTICATED
4. shape limits          ``Defence`` / ``schema.limits``: depth, aliases, fields, repeats
5. validation            ``Defence``: graphql-core's rules, cached per document text
6. variables and inputs  ``Defence``: coercion and ``schema.boundary``, BAD_USER_INPUT
7. cost and budget       ``schema.budgets.QueryCostAndBudget``: QUERY_TOO_COMPLEX, RATE_LIMITED
8. execution             a kept answer (``schema.kept_answers``), else a compiled plan
                         (``schema.compiled``), else the resolvers

Over HTTP, a document a compiled plan has answered after all of these steps is answered again
by the fast path (api/fast_path.py, schema/fast_path.py): for the same text and role, steps 2, 4
and 5 cannot decide otherwise, so only 1, 3, 6, 7 and 8 run again, through the same functions.

Steps 3-6 run in ``on_validate`` of one extension so that their order is written down once
(step 7 follows in ``on_execute``, the schema's extension list keeping the order);
Strawberry's ``ValidationCache`` cannot be used because it would validate before steps 3 and 4,
nor its ``ParserCache``: a document it cannot parse escapes the operation's extensions, so the
answer would carry no ``extensions.code``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    parse,
    specified_rules,
)
from graphql.utilities import get_operation_ast
from graphql.validation import ASTValidationRule, ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from api.domain.enums import Role
from schema.boundary import document_problems
from schema.limits import Limits, too_complex
from schema.variables import coerced_variables

SIGN_IN = "Sign in: send `Authorization: Bearer <token>` or `X-API-Key: <key>`."


class _NoIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "Introspection is for admins; the schema is published as schema.graphql.",
                    node,
                    extensions={"code": "FORBIDDEN"},
                )
            )


class IntrospectionForAdmins(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        principal = getattr(self.execution_context.context, "principal", None)
        if principal is None or principal.role is not Role.ADMIN:
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, _NoIntrospection)
        yield


# Client operations are a few kB; a longer text (a huge string literal or comment costs one
# token) is parsed and validated every time rather than held: 256 entries of up to 32 kB each.
MAX_CACHED_TEXT = 32_000
# A parsed document keeps every token with its location: some 400 bytes a token, so a document
# at the token limit (schema.schema.MAX_TOKENS, 2,000) takes ~0.8 MB, and 256 distinct ones
# (any member may send them) would hold ~200 MB in each process.  The parse cache is bounded by
# the tokens it holds too: at most ~25 MB, still ~200 documents of the contract's size.
MAX_CACHED_TOKENS = 64_000


class _Parsed:
    """An LRU of parsed documents keyed by the text and the parse options, bounded by count
    and by the tokens its documents hold."""

    def __init__(self, maxsize: int = 256, max_tokens: int = MAX_CACHED_TOKENS) -> None:
        self.maxsize, self.max_tokens = maxsize, max_tokens
        self.documents: OrderedDict[tuple[Any, ...], tuple[DocumentNode, int]] = OrderedDict()
        self.tokens = 0

    def __call__(self, text: str, **options: Any) -> DocumentNode:
        key = (text, *sorted(options.items()))
        found = self.documents.get(key)
        if found is not None:
            self.documents.move_to_end(key)
            return found[0]
        document = parse(text, **options)
        tokens = _tokens(document)
        self.documents[key] = (document, tokens)
        self.tokens += tokens
        while len(self.documents) > self.maxsize or self.tokens > self.max_tokens:
            _, (_, dropped) = self.documents.popitem(last=False)
            self.tokens -= dropped
        return document


def _tokens(document: DocumentNode) -> int:
    """The tokens a parsed document holds (its location's chain, start to end of file)."""
    count, token = 0, document.loc.start_token if document.loc else None
    while token is not None:
        count, token = count + 1, token.next
    return count


_parse = _Parsed()


class ParseCache(SchemaExtension):
    """Parse each document text once (an LRU keyed by the text and the parse options)."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.query and len(ec.query) <= MAX_CACHED_TEXT:
            # On a syntax error Strawberry parses again where it reports the error in the
            # answer; the token limit bounds that second parse.
            with suppress(GraphQLError):
                ec.graphql_document = _parse(ec.query, **ec.parse_options)
        yield


class _Validated:
    """An LRU of validation results keyed by schema, document text and rules: a document
    that comes again (every client sends the same few) is measured and validated once."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.results: OrderedDict[tuple[Any, ...], list[GraphQLError]] = OrderedDict()

    def errors(
        self,
        schema: GraphQLSchema,
        text: str,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
        limits: Limits,
    ) -> list[GraphQLError]:
        key = (id(schema), text, rules, limits)
        found = self.results.get(key)
        if found is not None:
            self.results.move_to_end(key)
            return found
        too_big = too_complex(document, limits)
        errors = [too_big] if too_big is not None else validate_document(schema, document, rules)
        if len(text) > MAX_CACHED_TEXT:
            return errors
        self.results[key] = errors
        if len(self.results) > self.maxsize:
            self.results.popitem(last=False)
        return errors


_VALIDATED = _Validated(maxsize=256)


def rules_for(role: Role) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules a request of this role gets: Strawberry's execution context starts
    from graphql-core's ``specified_rules``; ``IntrospectionForAdmins`` adds its rule for every
    role but admins."""
    rules = tuple(specified_rules)
    return rules if role is Role.ADMIN else (*rules, _NoIntrospection)


def parsed(text: str, max_tokens: int) -> DocumentNode:
    """The document as ``ParseCache`` parses it under ``MaxTokensLimiter`` (the same cache);
    raises ``GraphQLError``."""
    return _parse(text, max_tokens=max_tokens)


def validation_errors(
    schema: GraphQLSchema, text: str, document: DocumentNode, role: Role, limits: Limits
) -> list[GraphQLError]:
    """Steps 4 and 5 for a request of this role, as ``Defence`` takes them (the same cache)."""
    return _VALIDATED.errors(schema, text, document, rules_for(role), limits)


def _bad_input(message: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT", **extensions})


class Defence(SchemaExtension):
    """Steps 3-7 of the order of defence (module docstring); the first refusal answers."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    def on_validate(self) -> Iterator[None]:
        try:
            refusals = self._refusals()
        except Exception as exc:  # a defect; escaping from here it would go unmasked
            refusals = [GraphQLError(str(exc), original_error=exc)]
        self.execution_context.pre_execution_errors = refusals
        yield

    def _refusals(self) -> list[GraphQLError]:
        ec = self.execution_context
        context = ec.context
        if getattr(context, "principal", None) is None:
            message = getattr(context, "auth_error", None) or SIGN_IN
            return [GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})]
        schema = ec.schema._schema
        document = ec.graphql_document
        # Parsed in the step before.
        assert document is not None
        assert ec.query is not None
        errors = _VALIDATED.errors(schema, ec.query, document, ec.validation_rules, self.limits)
        if errors:
            return errors
        with suppress(AttributeError):  # a script's context may be any object
            context.validated = True
        operation = get_operation_ast(document, ec.operation_name)
        if operation is None:
            return []  # execution names the problem (unknown or ambiguous operation)
        # Coerced once for the request: cost and compiled plans use the same values.
        coerced = coerced_variables(ec, operation)
        if isinstance(coerced, list):
            # graphql-core's own words: they name the variable and what was wrong with it.
            return [_bad_input(e.message) for e in coerced]
        problems = document_problems(schema, document, operation, coerced)
        if problems:
            return [_bad_input(p.message, field=p.field) for p in problems]
        # Step 7, cost and budget, runs in ``on_execute`` (schema/budgets.py): after this step,
        # so that it sees a valid document with coerced variables, before anything executes.
        return []
