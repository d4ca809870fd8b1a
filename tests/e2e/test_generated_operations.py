"""Generated queries and mutations, with generated variables, as every role and anonymously:
no answer is an HTTP 5xx or INTERNAL_SERVER_ERROR (issue 9, "Done when").

hypothesis-graphql writes arguments as literals; ``with_variables`` moves each root field's
arguments into variables, so variable coercion and the input limits are exercised too. Dates
come from the whole calendar (years 1 to 9999) and strings may hold NUL characters.

``CAMPAIGN_GENERATED_EXAMPLES`` sets the examples per role and operation type (default 200:
5 principals x 2 operation types x 200 = 2,000 documents per run).
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from typing import Any

import graphql
import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from api.app import create_app
from api.auth import issue_token
from api.db.session import Database
from api.domain.enums import Role
from schema.schema import build_schema
from schema.types.node import encode_id
from tests.e2e.conftest import settings_for

EXAMPLES = int(os.environ.get("CAMPAIGN_GENERATED_EXAMPLES", "200"))
SCHEMA = build_schema()._schema
PRINCIPALS: list[Role | None] = [Role.ADMIN, Role.MANAGER, Role.MEMBER, Role.LMS, None]

# Ids of the demo's objects (so mutations and refetches reach real rows), beside ids of the
# wrong type, out of bigint range, with full-width digits, and plain junk.
_TYPES = ["Campaign", "Group", "Person", "Post", "Promotion", "Resource", "Topic", "TopicManager"]
IDS = st.one_of(
    st.builds(encode_id, st.sampled_from(_TYPES), st.integers(1, 12)),
    st.builds(encode_id, st.sampled_from(_TYPES), st.integers(-(2**70), 2**70)),
    st.sampled_from(["Person:\uff11\uff12", "Topic:1_0", "Nothing:1", "Topic:"]).map(
        lambda text: base64.b64encode(text.encode()).decode()
    ),
    st.text(max_size=20),
).map(lambda value: graphql.StringValueNode(value=value))

SCALARS = {
    "ID": IDS,
    "Date": st.dates().map(lambda d: graphql.StringValueNode(value=d.isoformat())),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(
        lambda d: graphql.StringValueNode(value=d.isoformat())
    ),
}


def _type_node(type_: Any) -> Any:
    if isinstance(type_, graphql.GraphQLNonNull):
        return graphql.NonNullTypeNode(type=_type_node(type_.of_type))
    if isinstance(type_, graphql.GraphQLList):
        return graphql.ListTypeNode(type=_type_node(type_.of_type))
    return graphql.NamedTypeNode(name=graphql.NameNode(value=type_.name))


def with_variables(document: graphql.DocumentNode) -> tuple[str, dict[str, Any]]:
    """The document with its root fields' arguments moved into variables."""
    (operation,) = document.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    root = SCHEMA.mutation_type if operation.operation.value == "mutation" else SCHEMA.query_type
    assert root is not None
    definitions, variables, fields = [], {}, []
    for index, field in enumerate(operation.selection_set.selections):
        assert isinstance(field, graphql.FieldNode)
        arguments = []
        for argument in field.arguments or ():
            name = f"v{index}_{argument.name.value}"
            variables[name] = graphql.value_from_ast_untyped(argument.value)
            type_ = root.fields[field.name.value].args[argument.name.value].type
            node = graphql.VariableNode(name=graphql.NameNode(value=name))
            definitions.append(
                graphql.VariableDefinitionNode(variable=node, type=_type_node(type_))
            )
            arguments.append(graphql.ArgumentNode(name=argument.name, value=node))
        fields.append(replace(field, arguments=tuple(arguments)))
    selections = replace(operation.selection_set, selections=tuple(fields))
    operation = replace(
        operation, variable_definitions=tuple(definitions), selection_set=selections
    )
    return graphql.print_ast(graphql.DocumentNode(definitions=(operation,))), variables


class Client:
    """The app on its own event loop, so Hypothesis (which runs tests synchronously) can
    drive it one example at a time."""

    def __init__(self, url: str) -> None:
        self.settings = settings_for(url)
        self.loop = asyncio.new_event_loop()
        self.db = Database.connect(url, pool_size=2)
        self.app = create_app(self.settings, db=self.db)
        self.loop.run_until_complete(self._enter())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://campaign.test"
        )
        self.tokens = {
            role: issue_token(self.settings, role, f"{role.value.lower()}@example.com")
            for role in Role
        }

    async def _enter(self) -> None:
        self.lifespan = LifespanManager(self.app)  # it detects the event loop it runs on
        await self.lifespan.__aenter__()

    async def _exit(self) -> None:
        await self.client.aclose()
        await self.lifespan.__aexit__(None, None, None)
        await self.db.dispose()

    def post(self, role: Role | None, query: str, variables: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return self.loop.run_until_complete(
            self.client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        )

    def close(self) -> None:
        self.loop.run_until_complete(self._exit())
        self.loop.close()


@pytest.fixture(scope="module")
def client(pg_server: Any, demo_template: str) -> Iterator[Client]:
    url = pg_server.create(template=demo_template)
    c = Client(url)
    yield c
    c.close()
    pg_server.drop(url)


def check(client: Client, role: Role | None, document: graphql.DocumentNode) -> str:
    """Send the document; return it as sent."""
    query, variables = with_variables(document)
    response = client.post(role, query, variables)
    assert response.status_code < 500, (query, variables, response.text)
    if response.status_code == 200:
        for error in response.json().get("errors", []):
            code = error.get("extensions", {}).get("code")
            assert code, (query, variables, error)
            assert code != "INTERNAL_SERVER_ERROR", (query, variables, error)
    return query


RUN = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("role", PRINCIPALS, ids=lambda r: r.value if r else "anonymous")
def test_generated_queries(client: Client, role: Role | None) -> None:
    sent: list[str] = []

    @RUN
    @given(queries(SCHEMA, custom_scalars=SCALARS, print_ast=lambda d: d))
    def run(document: Any) -> None:
        sent.append(check(client, role, document))

    run()
    assert len(sent) >= EXAMPLES, len(sent)  # every example was sent, none filtered out


@pytest.mark.parametrize("role", PRINCIPALS, ids=lambda r: r.value if r else "anonymous")
def test_generated_mutations(client: Client, role: Role | None) -> None:
    sent: list[str] = []

    @RUN
    @given(mutations(SCHEMA, custom_scalars=SCALARS, print_ast=lambda d: d))
    def run(document: Any) -> None:
        sent.append(check(client, role, document))

    run()
    assert len(sent) >= EXAMPLES, len(sent)  # every example was sent, none filtered out
