"""GraphiQL as an admin uses it, in headless Chromium against the app under uvicorn: with the
token from the link `campaign up` prints, or pasted into the headers as its banner says, the
docs explorer lists `Query` and a query shows the demo's data; and not one request leaves
127.0.0.1. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.async_api import Page, Request, Route, async_playwright, expect

from api.auth import issue_token
from api.domain.enums import Role
from tests.e2e.browser import CHROMIUM_FLAGS, chromium, uvicorn_app
from tests.e2e.conftest import SECRET, settings_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
QUERY = "query Campaigns {\n  campaigns(first: 5) {\n    nodes {\n      slug\n      name\n    }\n  }\n}\n"
WAIT = 30_000  # ms; generous for a busy machine, and only the bound of a wait for an event


@pytest.fixture(scope="module")
def service(
    shared_demo_url: str, graphiql_assets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = {
        "CAMPAIGN_ENVIRONMENT": "test",
        "DATABASE_URL": shared_demo_url,
        "CAMPAIGN_JWT_SECRET": SECRET,
        "CAMPAIGN_GRAPHIQL": "true",
        "CAMPAIGN_GRAPHIQL_ASSETS_DIR": str(graphiql_assets),
    }
    with uvicorn_app(env, cwd=tmp_path_factory.mktemp("uvicorn")) as base:
        yield base


@dataclass
class Browsing:
    """A fresh Chromium page whose every request is recorded and, unless it goes to the
    service, refused."""

    page: Page
    origin: str
    seen: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def only_this_service(self, route: Route, request: Request) -> None:
        self.seen.append(request.url)
        if urlsplit(request.url).netloc == self.origin:
            await route.continue_()
        else:
            self.refused.append(request.url)
            await route.abort("blockedbyclient")

    def assert_stayed_on_this_machine(self) -> None:
        assert not self.errors, self.errors
        assert not self.refused, f"requests that would have left the machine: {self.refused}"
        assert [url for url in self.seen if urlsplit(url).netloc != self.origin] == []
        assert any(url.endswith("/graphiql.min.js") for url in self.seen), self.seen


@pytest.fixture
async def browsing(service: str) -> AsyncIterator[Browsing]:
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            # A new context is a new, empty profile: no headers kept from another test.
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            page = await context.new_page()
            browsing = Browsing(page, origin=urlsplit(service).netloc)
            await context.route("**/*", browsing.only_this_service)
            page.on("websocket", lambda ws: browsing.seen.append(ws.url))
            page.on("pageerror", lambda error: browsing.errors.append(str(error)))
            # The page's Content-Security-Policy must not be what keeps it working or not.
            page.on(
                "console",
                lambda message: (
                    browsing.errors.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            yield browsing
        finally:
            await browser.close()


def _token(shared_demo_url: str) -> str:
    return issue_token(settings_for(shared_demo_url), Role.ADMIN, "admin@example.com")


async def _docs_list_query(page: Page) -> None:
    await page.get_by_role("button", name="Show Documentation Explorer").click()
    explorer = page.locator(".graphiql-doc-explorer")
    # The root types show once introspection (which needs the token) has answered.
    await expect(explorer.get_by_text("Root Types")).to_be_visible(timeout=WAIT)
    await expect(explorer.get_by_role("link", name="Query", exact=True)).to_be_visible()


async def _query_shows_the_demo(page: Page) -> None:
    await page.locator(".graphiql-execute-button").click()
    result = page.locator("section.result-window")
    await expect(result).to_contain_text("Learning Community Launch", timeout=WAIT)
    await expect(result).to_contain_text('"slug": "learning-community"')


async def test_graphiql_with_the_link_campaign_up_prints(
    service: str, browsing: Browsing, shared_demo_url: str
) -> None:
    page = browsing.page
    # The token rides in the fragment, which the browser never sends.
    await page.goto(f"{service}/graphql?q={quote(QUERY)}#token={_token(shared_demo_url)}")
    assert "token" not in page.url  # moved into the headers, off the address bar
    await expect(page.locator(".graphiql-execute-button")).to_be_visible(timeout=WAIT)
    await expect(page.locator(".graphiql-editor-tool")).to_contain_text("Authorization")
    await _docs_list_query(page)
    await _query_shows_the_demo(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "graphiql.png")
    browsing.assert_stayed_on_this_machine()


async def test_graphiql_with_the_header_pasted(
    service: str, browsing: Browsing, shared_demo_url: str
) -> None:
    page = browsing.page
    await page.goto(f"{service}/graphql?q={quote(QUERY)}")
    await expect(page.locator(".graphiql-execute-button")).to_be_visible(timeout=WAIT)
    # Without a token introspection is refused; the page says so and keeps working.
    await page.get_by_role("button", name="Show Documentation Explorer").click()
    await expect(page.locator(".graphiql-doc-explorer")).to_contain_text(
        "Error fetching schema", timeout=WAIT
    )
    # As the banner says: paste {"Authorization": "Bearer ..."} into the Headers tab.
    await page.get_by_role("button", name="Headers", exact=True).click()
    headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    await headers.click()
    await page.keyboard.insert_text(f'{{"Authorization": "Bearer {_token(shared_demo_url)}"}}')
    await page.get_by_role("button", name="Re-fetch GraphQL schema").click()
    await page.get_by_role("button", name="Hide Documentation Explorer").click()
    await _docs_list_query(page)
    await _query_shows_the_demo(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "graphiql-pasted-header.png")
    browsing.assert_stayed_on_this_machine()
