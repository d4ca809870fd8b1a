"""Persisted documents: Apollo's automatic persisted queries (APQ) and trusted documents.

A request may name its document by hash, ``extensions.persistedQuery = {version: 1,
sha256Hash}``, the SHA-256 of the document's exact text (as Apollo's link computes it):

* hash only, known: the stored text runs; unknown: ``PERSISTED_QUERY_NOT_FOUND`` with the
  message ``PersistedQueryNotFound`` (what Apollo's link looks for), and the client sends
  the text with the hash;
* text and hash: the hash must be the text's (else ``PERSISTED_QUERY_HASH_MISMATCH``); the
  text runs, and once it has passed validation (``Context.validated``: an authenticated,
  valid document, never an anonymous one) it is stored for every API process.

With ``CAMPAIGN_TRUSTED_DOCUMENTS=true`` only stored documents run, whether named by hash or
sent as text (``PERSISTED_QUERY_NOT_ALLOWED`` otherwise), and nothing is stored over HTTP:
documents are registered by ``campaign persisted register DIR`` at deploy time.

Admins are exempt while ``CAMPAIGN_TRUSTED_DOCUMENTS_ADMIN_ADHOC`` is true (the default): an
admin exploring in GraphiQL runs documents of their own, which are not registered by being
run; every other role (manager, member, an LMS key) runs registered documents only. The same
holds for operations over WebSocket (``api.live.endpoint``).

Documents live in PostgreSQL (``persisted_query``) and are kept in memory once read.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api.db.repositories import persisted_queries
from api.db.request_session import Reads
from api.db.session import Database
from api.domain.enums import Role
from api.domain.principal import Principal
from api.settings import Settings

log = logging.getLogger(__name__)

_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
# Held in memory: client documents are a few kB; longer ones are read from the database.
CACHED_DOCUMENTS = 512
MAX_CACHED_TEXT = 32_000


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Refusal(Exception):
    """A persisted-document request refused before the document runs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_found() -> Refusal:
    # A fresh exception each time: raising one shared object would grow its traceback chain
    # with every refusal (and hold every frame it passed through).
    return Refusal("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


def _hash_mismatch() -> Refusal:
    return Refusal(
        "PERSISTED_QUERY_HASH_MISMATCH",
        "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent.",
    )


@dataclass(frozen=True, slots=True)
class Resolved:
    query: str | None
    # A document to store once it has passed validation: (hash, text).
    to_register: tuple[str, str] | None = None


def _persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise Refusal(
            "PERSISTED_QUERY_INVALID",
            "extensions.persistedQuery must be {version: 1, sha256Hash: <64 hex digits>}.",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.match(digest):
        raise Refusal(
            "PERSISTED_QUERY_INVALID",
            "extensions.persistedQuery.sha256Hash must be a SHA-256 in 64 hex digits.",
        )
    return digest.lower()


class PersistedQueries:
    def __init__(self, db: Database, *, trusted: bool, admin_adhoc: bool = True) -> None:
        self.db = db
        self.trusted = trusted
        self.admin_adhoc = admin_adhoc
        self._cache: OrderedDict[str, str] = OrderedDict()
        # Told of each document this process reads or stores for the first time (the HTTP
        # fast path prepares it: api.graphql.GraphQLView.warm_up).
        self.on_learned: Callable[[str], None] | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> PersistedQueries:
        return cls(
            db,
            trusted=settings.trusted_documents,
            admin_adhoc=settings.trusted_documents_admin_adhoc,
        )

    def _admin_exempt(self, principal: Principal | None) -> bool:
        """May this principal run, in trusted mode, a document that is not registered?"""
        return self.admin_adhoc and principal is not None and principal.role is Role.ADMIN

    async def resolve(
        self,
        query: str | None,
        extensions: Mapping[str, Any] | None,
        principal: Principal | None = None,
        reads: Reads | None = None,
    ) -> Resolved:
        """The document a request runs; raises ``Refusal``."""
        digest = _persisted_hash(extensions)
        if self.trusted and query is not None and self._admin_exempt(principal):
            # An admin's own document runs as sent, and is stored only by `campaign
            # persisted register`; a hash sent with it must still be its text's.
            if digest is not None and sha256_of(query) != digest:
                raise _hash_mismatch()
            return Resolved(query)
        if digest is None:
            if (
                query is not None
                and self.trusted
                and await self.document(sha256_of(query), reads) is None
            ):
                raise self._not_allowed()
            return Resolved(query)
        if query is None:
            found = await self.document(digest, reads)
            if found is None:
                raise _not_found()
            return Resolved(found)
        if sha256_of(query) != digest:
            raise _hash_mismatch()
        if digest in self._cache:
            return Resolved(query)
        if self.trusted:
            if await self.document(digest, reads) is None:
                raise self._not_allowed()
            return Resolved(query)
        return Resolved(query, to_register=(digest, query))

    def _not_allowed(self) -> Refusal:
        return Refusal(
            "PERSISTED_QUERY_NOT_ALLOWED",
            "This server runs only registered (trusted) documents, and this one is not "
            "registered; register it with `campaign persisted register`."
            + (" Admins may run their own." if self.admin_adhoc else ""),
        )

    async def document(self, digest: str, reads: Reads | None = None) -> str | None:
        """A stored document's text; ``reads``: the request's connection, which looks it up
        in a statement of its own, before the request's read snapshot."""
        found = self._cache.get(digest)
        if found is not None:
            self._cache.move_to_end(digest)
            return found
        found = await persisted_queries.find_on(reads or self.db, digest)
        if found is not None:
            self._remember(digest, found)
            self._learned(found)
        return found

    async def recent(self, limit: int) -> list[str]:
        """The texts of the ``limit`` documents registered last, newest first, kept in memory
        while there is room (a request naming one by hash then needs no look-up)."""
        async with self.db.reading() as session:
            found = await persisted_queries.recent(session, limit)
        for digest, text in found:
            if len(self._cache) < CACHED_DOCUMENTS:
                self._remember(digest, text)
        return [text for _, text in found]

    def _learned(self, text: str) -> None:
        if self.on_learned is not None:
            self.on_learned(text)

    async def register(self, digest: str, text: str) -> None:
        """Store a validated document sent with its hash (APQ's second request)."""
        async with self.db.unit_of_work() as session:
            new = await persisted_queries.register(session, {digest: text})
        if new:
            log.info("registered persisted document %s", digest)
        self._remember(digest, text)
        self._learned(text)

    def _remember(self, digest: str, text: str) -> None:
        if len(text) > MAX_CACHED_TEXT:
            return
        self._cache[digest] = text
        self._cache.move_to_end(digest)
        if len(self._cache) > CACHED_DOCUMENTS:
            self._cache.popitem(last=False)


async def register_documents(db: Database, documents: Mapping[str, str]) -> int:
    """Store documents (hash -> text), as ``campaign persisted register`` does; how many new."""
    async with db.unit_of_work() as session:
        return await persisted_queries.register(session, documents)
