"""Cloning through `neurall serve`'s app: multipart uploads, training on the embedded
worker, cloneEvents, generating with the clone, deleting it; and what others can't do."""

from __future__ import annotations

import time

import pytest

from neurall.orm.clones import Clone
from tests.support.clones import (
    CLONE,
    CLONES,
    CREATE_CLONE,
    DELETE_CLONE,
    assert_no_photo_left,
    clone_events,
    generate_person,
    photos,
    upload,
)
from tests.support.factories import create_clone, create_key, sign_up, trained_clone
from tests.support.graphql import ME, base
from tests.support.jobs import finished_image

pytestmark = pytest.mark.usefixtures("database_url")


async def test_create_train_generate_and_delete(client, settings):
    started = time.time()
    await sign_up(client)
    key = await create_key(client)
    files = photos(4)
    created = await create_clone(
        client, files, variables={"input": {"name": " Ada ", "triggerWord": "sks"}}, api_key=key
    )
    assert created["__typename"] == "Clone", created
    assert (created["name"], created["triggerWord"], created["imageCount"]) == ("Ada", "sks", 4)
    assert created["status"] in ("QUEUED", "TRAINING")
    assert created["sourceImagesDeleted"] is False
    assert created["heldCredits"] == 1  # ceil(4 steps x 4 photos / 200)
    events = await clone_events(base(client), created["id"], key)
    # The current state first, then progress, then READY with the photos gone.
    assert events[0]["id"] == created["id"]
    assert [e["step"] for e in events] == sorted(e["step"] for e in events)
    assert any(e["status"] == "TRAINING" and e["loss"] is not None for e in events), events
    final = events[-1]
    assert (final["status"], final["progress"], final["step"]) == ("READY", 1.0, 4)
    assert final["sourceImagesDeleted"] is True
    clone = (await client.data(CLONE, {"id": created["id"]}, api_key=key))["clone"]
    assert clone["status"] == "READY"
    assert clone["costCredits"] == 1
    assert (await client.data(CLONES, api_key=key))["clones"][0]["id"] == created["id"]
    me = (await client.data(ME, api_key=key))["me"]
    assert (me["credits"], me["heldCredits"]) == (99, 0)
    # A subscription to a clone that ended gets its state and completes.
    assert [e["status"] for e in await clone_events(base(client), created["id"], key)] == ["READY"]
    assert_no_photo_left(settings.data_dir, files, started)

    # Same seed, with and without the clone: different pixels; the clone costs more.
    plain = await generate_person(client, key)
    cloned = await generate_person(client, key, cloneId=created["id"])
    assert cloned["__typename"] == "Job", cloned
    assert cloned["heldCredits"] > 0
    without, with_clone = (
        await finished_image(client, key, plain["id"]),
        await finished_image(client, key, cloned["id"]),
    )
    assert with_clone != without

    deleted = await client.data(DELETE_CLONE, {"id": created["id"]}, api_key=key)
    assert deleted["deleteClone"] == {"__typename": "Deleted", "deletedCount": 1}
    assert (await client.data(CLONE, {"id": created["id"]}, api_key=key))["clone"] is None
    assert list((settings.storage_dir / "adapters").iterdir()) == []
    gone = await generate_person(client, key, cloneId=created["id"])
    assert (gone["__typename"], gone["fields"]) == ("InvalidInput", ["input.cloneId"])


async def test_another_account_cannot_read_generate_with_or_delete_the_clone(client):
    await sign_up(client, email="owner@example.com")
    owner_key = await create_key(client)
    clone = await trained_clone(client, owner_key, photos(3, seed=1))
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="other@example.com")
    other_key = await create_key(client)
    for key in (other_key, None):  # by API key and by session
        kw = {"api_key": key} if key else {}
        assert (await client.data(CLONE, {"id": clone["id"]}, **kw))["clone"] is None
        assert (await client.data(CLONES, **kw))["clones"] == []
        result = await client.data(DELETE_CLONE, {"id": clone["id"]}, **kw)
        assert result["deleteClone"] == {
            "__typename": "NotFound",
            "code": "NOT_FOUND",
            "message": "Not found.",
        }
    job = await generate_person(client, other_key, cloneId=clone["id"])
    assert (job["__typename"], job["fields"]) == ("InvalidInput", ["input.cloneId"])
    # The same answer as for an id that never existed.
    never = await generate_person(client, other_key, cloneId="00000000-0000-0000-0000-000000000001")
    assert never["message"] == job["message"]
    events = await clone_events(base(client), clone["id"], other_key)
    assert events[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # The owner still has it, untouched.
    kept = (await client.data(CLONE, {"id": clone["id"]}, api_key=owner_key))["clone"]
    assert kept["status"] == "READY"


def _text_named_png() -> tuple[str, bytes]:
    return ("notes.png", b"these are my notes, not a picture\n" * 20)


def _png_declaring_20000() -> tuple[str, bytes]:
    from tests.support.clones import png_declaring

    return ("huge.png", png_declaring(20000, 20000))


REJECTED = {
    "text file named .png": (lambda: [*photos(3), _text_named_png()], ["images.3"]),
    "PNG declaring 20000x20000": (lambda: [_png_declaring_20000(), *photos(3)], ["images.0"]),
    "21 files": (lambda: photos(21), ["images"]),
    "2 files": (lambda: photos(2), ["images"]),
    "11 MB file": (
        lambda: [*photos(3), ("big.jpg", photos(1)[0][1] + b"\0" * (11 * 1024 * 1024))],
        ["images.3"],
    ),
}


async def test_rejected_uploads_are_invalid_input_and_store_nothing(client, settings):
    await sign_up(client)
    for case, (make, fields) in REJECTED.items():
        files = make()
        # Session cookie plus the CSRF header, as the playground sends it.
        response = await upload(client, files)
        assert response.status == 200, case
        result = (await response.json())["data"]["createClone"]
        assert (result["__typename"], result["fields"]) == ("InvalidInput", fields), case
        assert [e["field"] for e in result["errors"]] == fields, case
        assert result["errors"][0]["message"] == result["message"], case
        if fields != ["images"]:
            name = files[int(fields[0].split(".")[1])][0]
            assert f'("{name}")' in result["message"], (case, result)
    assert await Clone.all().count() == 0
    storage = settings.storage_dir
    assert not storage.exists() or [p for p in storage.rglob("*") if p.is_file()] == []
    me = (await client.data(ME))["me"]
    assert (me["credits"], me["heldCredits"]) == (100, 0)


async def test_multipart_with_a_session_cookie_needs_the_csrf_header(client):
    await sign_up(client)
    response = await upload(client, photos(3), csrf=False)
    assert response.status == 403
    assert await Clone.all().count() == 0


async def test_clone_fields_need_their_scopes(client):
    await sign_up(client)
    generate_only = await create_key(client, ["GENERATE"])
    response = await upload(client, photos(3), api_key=generate_only)
    result = (await response.json())["data"]["createClone"]
    assert result["code"] == "FORBIDDEN"
    body = await client.post(CLONES, api_key=generate_only)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_request_with_too_many_parts_is_refused_before_validation(client):
    await sign_up(client)
    response = await upload(client, [(f"{i}.png", b"x") for i in range(90)])
    assert response.status == 400
    assert await Clone.all().count() == 0


async def test_images_sent_as_json_values_are_invalid_input(client):
    await sign_up(client)
    variables = {"input": {"name": "x"}, "images": ["a.png", 1, {"x": 1}]}
    result = (await client.data(CREATE_CLONE, variables))["createClone"]
    assert (result["__typename"], result["fields"]) == ("InvalidInput", ["images.0"])
    assert await Clone.all().count() == 0


async def test_each_bad_clone_field_gets_its_own_message(client, settings):
    await sign_up(client)
    result = await create_clone(
        client,
        photos(3),
        variables={"input": {"name": " ", "triggerWord": "1x", "trainingSteps": 10**6}},
    )
    limit = settings.clone_max_training_steps
    assert result["__typename"] == "InvalidInput", result
    assert result["errors"] == [
        {"field": "input.name", "message": "Names are 1 to 100 characters."},
        {
            "field": "input.trainingSteps",
            "message": f"Training steps must be between 1 and {limit}.",
        },
        {
            "field": "input.triggerWord",
            "message": "A trigger word is 2 to 32 letters, digits, '_' or '-', "
            "starting with a letter.",
        },
    ]
    assert await Clone.all().count() == 0
