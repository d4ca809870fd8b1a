"""A reply to a reply keeps its parent however the two were read."""

from __future__ import annotations

from api.db.session import Database
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows, set_up_campaign


async def test_a_reply_whose_parent_the_group_feed_omits_keeps_its_parent(
    sim: Sim, fresh_db: Database
) -> None:
    """The group feed brings the starter and the reply to a reply, not the reply between
    them: the thread walk brings both, and the child is linked to its parent on the first
    clean sync, although the pass had already written it once (parent unknown)."""
    network = sim.network
    group = network.group_by_name("Employee Engagement")
    colleague = max(network.users)  # not campaign staff: no staff feed brings the thread
    starter = network.add_message(colleague, "Lunch and learn on Friday?", group_id=group.id)
    parent = network.add_message(colleague, "Count me in", replied_to_id=starter.id)
    child = network.add_message(network.current_user_id, "Great, see you", replied_to_id=parent.id)
    sim.state.faults.omits_reply = lambda message_id: message_id == parent.id  # type: ignore[method-assign]

    async with make_client(sim) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary

    [(replied_to,)] = await rows(
        fresh_db,
        "SELECT r.external_id FROM post p LEFT JOIN post r ON r.id = p.replied_to_id"
        " WHERE p.external_id = :e",
        e=child.id,
    )
    assert replied_to == parent.id
