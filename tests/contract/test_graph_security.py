"""Contract: API tokens (stored hashed, names never reused, revocation), the request id on
every audit event, and the admin's filtered, paged audit log."""

from __future__ import annotations

import pytest

from server import auth
from server.errors import ConflictError, NotFoundError, ValidationError
from server.models import AuditFilter, Role, SourceKind
from server.requestctx import request_id
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, is_aware, key, new_version


async def test_create_get_list_and_revoke_tokens(graph: GraphStore) -> None:
    token, made = await auth.create_token(graph, name="loader-crm", role=Role.WRITER, pii=True,
                                          actor=ACTOR)
    assert token.startswith("peso_")
    assert made.id in token
    assert made.secret_hash == auth.hash_token(token)
    assert token not in made.secret_hash
    assert (made.name, made.role, made.pii, made.created_by, made.revoked_at) == (
        "loader-crm", Role.WRITER, True, ACTOR, None)
    assert is_aware(made.created_at)
    assert await graph.get_token(made.id) == made
    assert await graph.get_token("0" * 16) is None

    principal = await auth.verify_token(graph, token)
    assert (principal.name, principal.role, principal.pii) == ("loader-crm", Role.WRITER, True)

    _, other = await auth.create_token(graph, name="reader-bi", role=Role.READER, pii=False,
                                       actor=ACTOR)
    assert [t.name for t in await graph.list_tokens()] == ["loader-crm", "reader-bi"]

    revoked = await graph.revoke_token("loader-crm", actor=ACTOR)
    assert revoked.revoked_at is not None
    assert is_aware(revoked.revoked_at)
    assert await graph.revoke_token(made.id, actor=ACTOR) == revoked  # twice: a no-op
    with pytest.raises(auth.AuthError):
        await auth.verify_token(graph, token)
    with pytest.raises(auth.AuthError):
        await auth.verify_token(graph, f"peso_{other.id}_wrong")  # right id, wrong secret

    actions = [e.action for e in await graph.list_audit(limit=10)]
    assert actions == ["token.revoked", "token.created", "token.created"]


async def test_names_are_never_reused_and_unknown_tokens_are_not_found(
        graph: GraphStore) -> None:
    await auth.create_token(graph, name="svc", role=Role.READER, pii=False, actor=ACTOR)
    await graph.revoke_token("svc", actor=ACTOR)
    with pytest.raises(ConflictError, match="already exists"):
        await auth.create_token(graph, name="svc", role=Role.ADMIN, pii=False, actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.revoke_token("nobody", actor=ACTOR)


async def test_a_collector_token_keeps_its_namespaces(graph: GraphStore) -> None:
    token, made = await auth.create_token(graph, name="pixel-eu", role=Role.COLLECTOR,
                                          pii=False, actor=ACTOR,
                                          namespaces=["web", "ads", "web"])
    assert made.namespaces == ("web", "ads")   # de-duplicated, order kept
    assert (await graph.get_token(made.id)) == made
    principal = await auth.verify_token(graph, token)
    assert principal.namespaces == ("web", "ads")
    assert principal.may_collect("ads")
    assert not principal.may_collect("crm")
    assert not principal.has(Role.READER)          # a collector reads nothing extra
    assert not auth.may_read(principal, "required")
    _, writer = await auth.create_token(graph, name="loader", role=Role.WRITER, pii=False,
                                        actor=ACTOR)
    assert writer.namespaces == ()
    listed = {t.name: t.namespaces for t in await graph.list_tokens()}
    assert listed == {"loader": (), "pixel-eu": ("web", "ads")}
    created = [e for e in await graph.list_audit(limit=10) if e.target_id == made.id]
    assert created[0].detail["namespaces"] == ["web", "ads"]


@pytest.mark.parametrize(("role", "namespaces", "message"), [
    (Role.COLLECTOR, [], "at least one namespace"),
    (Role.WRITER, ["web"], "only a collector token"),
    (Role.COLLECTOR, ["bad/ns"], "not valid"),
])
async def test_namespaces_are_checked_before_anything_is_stored(
        graph: GraphStore, role: Role, namespaces: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        await auth.create_token(graph, name="t", role=role, pii=False, actor=ACTOR,
                                namespaces=namespaces)
    assert await graph.list_tokens() == []


@pytest.mark.parametrize("presented", [
    "", "peso_", "peso_zz_abc", "peso_0123456789abcdef", "Bearer x", "x" * 500,
    "peso_0123456789abcdef_" + "a" * 43,
])
async def test_bad_tokens_are_refused_alike(graph: GraphStore, presented: str) -> None:
    token, _ = await auth.create_token(graph, name="real", role=Role.ADMIN, pii=True,
                                       actor=ACTOR)
    with pytest.raises(auth.AuthError, match=r"^invalid or revoked API token$"):
        await auth.verify_token(graph, presented)
    with pytest.raises(auth.AuthError):
        await auth.verify_token(graph, token[:-1] + ("A" if token[-1] != "A" else "B"))


async def test_audit_events_carry_the_request_id(graph: GraphStore) -> None:
    with request_id("req-0123456789"):
        await graph.upsert_source(name="s", kind=SourceKind.VENDOR, actor=ACTOR)
        await graph.register_versions([new_version("ns", "d")], actor=ACTOR)
        explicit = await graph.append_audit(actor=ACTOR, action="x.y", target_kind="T",
                                            target_id="t", request_id="other-request-id")
    outside = await graph.append_audit(actor=ACTOR, action="x.z", target_kind="T",
                                       target_id="t")
    events = await graph.list_audit(limit=100)
    assert explicit.request_id == "other-request-id"
    assert outside.request_id is None
    inside = [e for e in events if e.action not in ("x.y", "x.z")]
    assert inside
    assert {e.request_id for e in inside} == {"req-0123456789"}
    exported = [r async for r in graph.export_records() if r["record"] == "audit"]
    assert {r["request_id"] for r in exported} == {"req-0123456789", "other-request-id", None}


async def test_audit_page_filters_and_cursor(graph: GraphStore) -> None:
    for i in range(7):
        await graph.append_audit(actor="alice" if i % 2 else "bob", action=f"a.{i % 3}",
                                 target_kind="T", target_id=f"t{i % 2}")
    first = await graph.list_audit_page(AuditFilter(), first=3)
    assert [e.id for e in first.items] == sorted((e.id for e in first.items), reverse=True)
    assert (len(first.items), first.has_next, first.total) == (3, True, 7)
    assert first.cursors == [[e.id] for e in first.items]
    rest = await graph.list_audit_page(AuditFilter(), first=10, before_id=first.items[-1].id)
    assert (len(rest.items), rest.has_next) == (4, False)
    assert {e.id for e in first.items} | {e.id for e in rest.items} == {
        e.id for e in await graph.list_audit(limit=100)}

    alice = await graph.list_audit_page(AuditFilter(actor="alice"), first=10)
    assert alice.total == 3
    assert {e.actor for e in alice.items} == {"alice"}
    both = await graph.list_audit_page(AuditFilter(actor="bob", action="a.0"), first=10)
    assert both.total == len(both.items) == 2
    assert {(e.actor, e.action) for e in both.items} == {("bob", "a.0")}
    target = await graph.list_audit_page(AuditFilter(target_id="t1"), first=2)
    assert (target.total, len(target.items), target.has_next) == (3, 2, True)
    none = await graph.list_audit_page(AuditFilter(actor="x' OR '1'='1"), first=10)
    assert (none.items, none.total) == ([], 0)


async def test_registration_is_audited_under_the_caller(graph: GraphStore) -> None:
    await graph.register_versions([new_version("ns", "d")], actor="loader-crm")
    page = await graph.list_audit_page(AuditFilter(actor="loader-crm"), first=20)
    assert {"dataset.registered", "version.added"} <= {e.action for e in page.items}
    assert key("ns", "d")  # the dataset exists under its key
