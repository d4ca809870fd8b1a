"""GraphiQL as an admin uses it, in headless Chromium against the app under uvicorn: the page
takes the token from its address, the docs explorer lists `Query`, a query shows the demo's
data, and not one request leaves 127.0.0.1. The screenshot is kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

from playwright.async_api import Request, Route, async_playwright, expect

from api.auth import issue_token
from api.domain.enums import Role
from tests.e2e.browser import CHROMIUM_FLAGS, chromium, uvicorn_app
from tests.e2e.conftest import SECRET, settings_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
QUERY = "query Campaigns {\n  campaigns(first: 5) {\n    nodes {\n      slug\n      name\n    }\n  }\n}\n"


async def test_graphiql_works_offline_in_chromium(
    shared_demo_url: str, graphiql_assets: Path, tmp_path: Path
) -> None:
    executable = chromium()
    env = {
        "CAMPAIGN_ENVIRONMENT": "test",
        "DATABASE_URL": shared_demo_url,
        "CAMPAIGN_JWT_SECRET": SECRET,
        "CAMPAIGN_GRAPHIQL": "true",
        "CAMPAIGN_GRAPHIQL_ASSETS_DIR": str(graphiql_assets),
    }
    token = issue_token(settings_for(shared_demo_url), Role.ADMIN, "admin@example.com")
    with uvicorn_app(env, cwd=tmp_path) as base:
        origin = urlsplit(base).netloc
        seen: list[str] = []
        refused: list[str] = []
        errors: list[str] = []

        async def only_this_service(route: Route, request: Request) -> None:
            seen.append(request.url)
            if urlsplit(request.url).netloc == origin:
                await route.continue_()
            else:
                refused.append(request.url)
                await route.abort("blockedbyclient")

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS, headless=True
            )
            try:
                context = await browser.new_context(viewport={"width": 1400, "height": 900})
                await context.route("**/*", only_this_service)
                page = await context.new_page()
                page.on("websocket", lambda ws: seen.append(ws.url))
                page.on("pageerror", lambda error: errors.append(str(error)))

                # The link `campaign up` prints: the token rides in the fragment.
                await page.goto(f"{base}/graphql?q={quote(QUERY)}#token={token}")
                assert "token" not in page.url  # moved into the headers, off the address bar
                await expect(page.locator(".graphiql-execute-button")).to_be_visible(timeout=30_000)
                headers = page.locator(".graphiql-editor-tool")
                await expect(headers).to_contain_text("Authorization", timeout=10_000)

                await page.get_by_role("button", name="Show Documentation Explorer").click()
                explorer = page.locator(".graphiql-doc-explorer")
                # Root types appear once the schema came back from introspection (with the token).
                await expect(explorer.get_by_text("Root Types")).to_be_visible(timeout=30_000)
                await expect(explorer.get_by_role("link", name="Query", exact=True)).to_be_visible()

                await page.locator(".graphiql-execute-button").click()
                result = page.locator("section.result-window")
                await expect(result).to_contain_text("Learning Community Launch", timeout=30_000)
                await expect(result).to_contain_text('"slug": "learning-community"')

                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=ARTIFACTS / "graphiql.png")
            finally:
                await browser.close()

    assert not errors, errors
    assert not refused, f"requests that would have left the machine: {refused}"
    assert [url for url in seen if urlsplit(url).netloc != origin] == []
    assert any(url.endswith("graphiql.min.js") for url in seen), seen
