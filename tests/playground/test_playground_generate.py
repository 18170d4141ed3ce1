"""Generating in the browser: progress, previews, results, history, cancel, a dropped
socket resumed with afterSeq, and field errors: numbers bounded in the form before anything
is sent, and the server's own messages beside their fields."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from tests.support.browser import gql, me, screenshot

JOB = "[data-testid=job]"
GENERATE = "mutation($i: GenerateInput!) { generate(input: $i) { ... on Job { id } } }"
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { __typename } }"


def job_attr(page: Page, name: str) -> str:
    return page.locator(JOB).get_attribute(f"data-{name}") or ""


def fill_generation(page: Page, prompt: str, *, steps: int, size: str = "default") -> None:
    """The model's default size (64 px for the tiny test model) keeps jobs short."""
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_label("Size").select_option(size)
    page.get_by_label("Steps").fill(str(steps))


def test_sign_up_generate_watch_it_form_reload_and_delete_from_history(signed_in: Page) -> None:
    page = signed_in
    fill_generation(page, "a lighthouse on a cliff at dawn", steps=40)
    # The estimate follows the form as it changes: 1024 x 1024 x 40 steps costs 8 credits,
    # 4 of those 32; a 64 px image 1.
    page.get_by_label("Size").select_option("1024x1024")
    expect(page.get_by_test_id("estimate")).to_have_text("8 credits")
    page.get_by_label("Images").fill("4")
    expect(page.get_by_test_id("estimate")).to_have_text("32 credits")
    page.get_by_label("Images").fill("1")
    page.get_by_label("Size").select_option("default")
    expect(page.get_by_test_id("estimate")).to_have_text("1 credit")

    page.get_by_role("button", name="Generate", exact=True).click()
    job = page.locator(JOB)
    expect(job).to_be_visible()
    # The progress bar moves: a step between the first and the last is shown.
    page.wait_for_function(
        """() => { const j = document.querySelector('[data-testid=job]');
                   const s = (j?.dataset.steps || '').split(',').filter(Boolean).map(Number);
                   return s.length > 0 && s[s.length - 1] > 0; }"""
    )
    expect(page.get_by_test_id("progress-text")).to_contain_text(re.compile(r"Step \d+/40"))
    expect(page.get_by_role("progressbar")).to_have_attribute("max", "40")
    expect(job).to_have_attribute("data-status", "SUCCEEDED", timeout=90_000)
    # A preview arrives every 5 steps (data: URLs the app shows as they come).
    assert int(job_attr(page, "previews")) >= 1
    result = page.get_by_test_id("result-image")
    expect(result).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=result-image]')?.naturalWidth === 64"
    )
    screenshot(page, "generate-result")
    download = page.get_by_role("button", name="Download").first
    expect(download).to_have_attribute("download", re.compile(r"\.png$"))
    steps = [int(s) for s in job_attr(page, "steps").split(",")]
    assert steps == sorted(set(steps)), "each step once, in order"
    assert job_attr(page, "duplicates") == "0"

    page.reload()
    page.get_by_role("link", name="History").click()
    item = page.locator(".gallery-item").first
    expect(item).to_have_attribute("aria-label", re.compile("a lighthouse on a cliff at dawn"))
    page.wait_for_function("() => document.querySelector('.gallery-item img')?.naturalWidth === 64")
    item.click()
    expect(page.get_by_test_id("detail-image")).to_be_visible()
    expect(page.locator(".params")).to_contain_text("64 \N{MULTIPLICATION SIGN} 64")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("deleted for good")
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/history$"))
    expect(page.get_by_text("Nothing here yet")).to_be_visible()


def test_the_model_picker_sets_the_form_and_the_job_names_its_model(signed_in: Page) -> None:
    page = signed_in
    picker = page.get_by_label("Model", exact=True)
    # Playwright matches in JavaScript; a model not loaded yet says so after its price.
    price = " \N{EM DASH} " + r"\d+ credits?/image( \u00b7 .+)?$"
    expect(picker.locator("option")).to_have_text(
        [
            re.compile(rf"^Tiny SD 1\.x{price}"),
            re.compile(rf"^Tiny SDXL{price}"),
            re.compile(rf"^Tiny FLUX{price}"),
        ]
    )
    expect(picker).to_have_value("tiny-sd")
    expect(page.get_by_test_id("model-about")).to_contain_text("Stable Diffusion 1.x")
    expect(page.get_by_label("Negative prompt (optional)")).to_be_visible()
    assert page.get_by_label("Scheduler").locator("option").count() > 1

    # The estimate follows the model.
    with page.expect_request(
        lambda r: "EstimateCost(" in (r.post_data or "") and '"tiny-flux"' in (r.post_data or "")
    ):
        picker.select_option("tiny-flux")
    expect(page.get_by_test_id("model-about")).to_contain_text("FLUX")
    expect(page.get_by_label("Negative prompt (optional)")).to_have_count(0)
    expect(page.get_by_test_id("no-negative-prompt")).to_contain_text("Tiny FLUX")
    expect(page.get_by_label("Scheduler").locator("option")).to_have_text(["Model default"])
    expect(page.get_by_label("Steps")).to_have_value("4")
    page.get_by_label("Size").select_option("custom")
    expect(page.get_by_label("Width (px)")).to_have_attribute("step", "16")
    page.get_by_label("Size").select_option("default")
    page.get_by_label("Prompt", exact=True).fill("a paper boat on a pond")
    expect(page.get_by_test_id("estimate")).to_have_text(re.compile(r"^\d+ credits?$"))
    screenshot(page, "generate-model-picker")

    page.get_by_role("button", name="Generate", exact=True).click()
    job = page.locator(JOB)
    expect(job.get_by_test_id("job-model")).to_have_text("Tiny FLUX")
    expect(job).to_have_attribute("data-status", "SUCCEEDED", timeout=180_000)
    screenshot(page, "generate-model-job")
    page.goto(f"/history/{job_attr(page, 'job-id')}")
    expect(page.get_by_test_id("job-model")).to_have_text("Tiny FLUX")
    screenshot(page, "history-detail-model")


def field_error(page: Page, label: str) -> Locator:
    """The message the form shows beside the field with this label (aria-describedby)."""
    field = page.get_by_label(label, exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    described = (field.get_attribute("aria-describedby") or "").split()
    return page.locator(f"[id='{described[0]}']")


def test_out_of_range_numbers_get_their_own_message_and_nothing_is_sent(signed_in: Page) -> None:
    page = signed_in
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data or "") if r.url.endswith("/graphql") else None,
    )
    page.get_by_label("Prompt", exact=True).fill("a red bicycle")
    page.get_by_label("Steps").fill("99999")
    page.get_by_label("Guidance").fill("1000")
    page.get_by_label("Images").fill("100")
    page.get_by_label("Random seed").uncheck()
    page.get_by_label("Seed value").fill("99999999999")
    page.wait_for_timeout(400)  # past the estimate's debounce
    sent.clear()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(field_error(page, "Steps")).to_have_text("Steps must be between 1 and 150.")
    expect(field_error(page, "Guidance")).to_have_text("Guidance must be between 0 and 30.")
    expect(field_error(page, "Images")).to_have_text(
        "The number of images must be between 1 and 8."
    )
    expect(field_error(page, "Seed value")).to_have_text(
        "The seed must be between 0 and 2,147,483,647."
    )
    expect(page.get_by_label("Seed value")).to_have_value("99999999999")
    expect(page.get_by_text("Correct the marked fields to see the cost.")).to_be_visible()
    screenshot(page, "generate-field-errors")
    page.wait_for_timeout(400)
    assert not [body for body in sent if "Generate(" in body or "EstimateCost(" in body]
    expect(page.locator(JOB)).to_have_count(0)

    # What only the server can tell still lands at its field, in the server's words.
    page.get_by_label("Steps").fill("20")
    page.get_by_label("Guidance").fill("7.5")
    page.get_by_label("Images").fill("1")
    page.get_by_label("Random seed").check()
    page.get_by_label("Prompt", exact=True).fill("   ")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(field_error(page, "Prompt")).to_have_text("Write a prompt of 1 to 2,000 characters.")
    expect(page.locator(JOB)).to_have_count(0)

    page.get_by_role("link", name="Credits", exact=True).click()
    # Checked as it is typed (the button is off while this server cannot sell credits).
    page.get_by_label("Credits to buy").fill("99999999999")
    expect(field_error(page, "Credits to buy")).to_have_text("Buy between 100 and 100,000 credits.")

    page.get_by_role("link", name="Clones", exact=True).click()
    page.get_by_label("Name", exact=True).fill("me")
    page.get_by_label("Training steps (optional)").fill("99999999999")
    page.get_by_role("button", name="Train clone").click()
    expect(field_error(page, "Training steps (optional)")).to_have_text(
        "Training steps must be between 1 and 2,000."
    )
    assert "Variable '$" not in page.content()
    assert not [body for body in sent if "Checkout(" in body or "CreateClone(" in body]


def test_cancel_a_running_job_and_get_the_credits_back(signed_in: Page) -> None:
    page = signed_in
    before = me(page)["credits"]
    # 4 images of 64 px x 150 steps hold 4 credits and run long enough to cancel mid-way.
    fill_generation(page, "a slow, detailed city at night", steps=150)
    page.get_by_label("Images").fill("4")
    expect(page.get_by_test_id("estimate")).to_have_text("4 credits")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator(JOB)).to_have_attribute("data-status", "RUNNING")
    running = me(page)
    assert running["heldCredits"] == 4
    assert running["credits"] == before - 4
    expect(page.get_by_test_id("available-credits")).to_have_text(f"{before - 4:,} credits")
    screenshot(page, "generate-running")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(JOB)).to_have_attribute("data-status", "CANCELED")
    expect(page.get_by_text("Canceled.")).to_be_visible()
    after = me(page)
    assert after["heldCredits"] == 0
    # Only the steps that ran are charged (floor(4 x done / 150)), never the whole hold.
    assert before - 4 < after["credits"] <= before
    expect(page.get_by_test_id("available-credits")).to_have_text(f"{after['credits']:,} credits")


def test_a_dropped_socket_resumes_with_after_seq_without_duplicates_or_lost_steps(
    signed_in: Page,
) -> None:
    page = signed_in
    sockets: list[dict[str, Any]] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        record: dict[str, Any] = {"route": ws, "server": server, "subscribe": None, "seqs": []}
        record["open"] = True
        sockets.append(record)

        def to_server(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "subscribe":
                record["subscribe"] = data["payload"]
            server.send(message)

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            event = (data.get("payload") or {}).get("data", {}) or {}
            if not record["open"]:
                return  # dropped: this never reaches the page
            if data.get("type") == "next" and "jobEvents" in event:
                record["seqs"].append(event["jobEvents"]["seq"])
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/graphql$"), route)
    fill_generation(page, "a windmill in a storm", steps=60)
    page.get_by_role("button", name="Generate", exact=True).click()
    # Mid-job: some steps seen, many to go. Then the connection drops.
    page.wait_for_function(
        """() => { const s = (document.querySelector('[data-testid=job]')?.dataset.steps || '')
                     .split(',').filter(Boolean).map(Number);
                   return s.length && s[s.length - 1] >= 5; }"""
    )
    # The socket carrying the job's events now (an earlier one may have closed on its own).
    first = next(r for r in reversed(sockets) if r["seqs"])
    # From here on nothing more reaches the page on this socket: lost in transit.
    first["open"] = False
    seen_before_drop = list(first["seqs"])
    steps_at_drop = [int(s) for s in job_attr(page, "steps").split(",")]
    first["route"].close(code=4000, reason="test: connection dropped")
    first["server"].close()
    expect(page.locator(JOB)).to_have_attribute("data-status", "SUCCEEDED", timeout=120_000)

    assert steps_at_drop[-1] < 60, "the socket dropped mid-job"
    assert sockets[-1] is not first, "the app reconnected"
    applied_before_drop = max(seen_before_drop)
    resumed = sockets[sockets.index(first) + 1]
    # The new subscription asks only for what came after the last event the app applied.
    assert resumed["subscribe"]["variables"]["afterSeq"] == applied_before_drop
    assert all(seq > applied_before_drop for seq in resumed["seqs"]), "nothing sent twice"
    all_seqs = [seq for record in sockets for seq in record["seqs"]]
    assert all_seqs == sorted(set(all_seqs)), "seq strictly increases across the sockets"
    steps = [int(s) for s in job_attr(page, "steps").split(",")]
    assert steps == sorted(set(steps)), "no step shown twice or going backwards"
    assert job_attr(page, "duplicates") == "0"
    assert int(job_attr(page, "reconnects")) >= 1
    expect(page.get_by_test_id("progress-text")).to_have_count(0)
    expect(page.get_by_test_id("result-image")).to_be_visible()


def test_a_queued_job_shows_its_place_in_the_queue(signed_in: Page) -> None:
    page = signed_in
    # Both embedded worker threads busy with long jobs: the next one waits its turn.
    busy = [
        gql(page, GENERATE, {"i": {"prompt": f"busy {n}", "steps": 150, "numImages": 4}})
        for n in range(2)
    ]
    fill_generation(page, "a patient queue", steps=5)
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator(JOB)).to_have_attribute("data-status", "QUEUED")
    expect(page.get_by_test_id("queue-position")).to_have_text(
        re.compile(r"Position in queue: \d+|Next in the queue|Waiting for a worker")
    )
    for job in busy:
        gql(page, CANCEL, {"id": job["generate"]["id"]})
    expect(page.locator(JOB)).to_have_attribute("data-status", "SUCCEEDED", timeout=90_000)
    expect(page.get_by_test_id("queue-position")).to_have_count(0)
