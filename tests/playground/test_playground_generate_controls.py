"""The Generate page's controls beyond the prompt: each model with its own schedulers and
prices, BATCH priced and charged, where the job shows up (focus, phone and desktop), two
clones with their weights, image-to-image from a file, a result and the history, and
inpainting with a mask painted by mouse, sent as a PNG with the request and sent again
by "Generate again"."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import Locator, Page, Request, Route, WebSocketRoute, expect

from tests.support.browser import SCREENSHOTS, gql, me, screenshot, serious_violations
from tests.support.clones import photos

JOB = "[data-testid=job]"
MODELS = "{ models { id name schedulers creditsPerImage batchCreditsPerImage state } }"
JOB_PARAMS = """query($id: ID!) { job(id: $id) {
  id priority costCredits heldCredits
  params { model mode scheduler strength width height steps seed priority
           adapters { cloneId weight } } } }"""
CLONES = "{ clones { id name status } }"
CLONE = "query($id: ID!) { clone(id: $id) { status error } }"
CREATE_CLONE = """mutation($input: CreateCloneInput!, $images: [Upload!]!) {
  createClone(input: $input, images: $images) { __typename ... on Clone { id } } }"""
SCHEDULER_NAMES = {
    "DEFAULT": "Model default",
    "DDIM": "DDIM",
    "EULER": "Euler",
    "EULER_ANCESTRAL": "Euler ancestral",
    "DPM_PP_2M": "DPM++ 2M",
    "UNIPC": "UniPC",
}


def generate_button(page: Page) -> Locator:
    return page.get_by_role("button", name="Generate", exact=True)


def finish(page: Page, timeout: int = 120_000) -> str:
    """Waits for the job shown to succeed; its id."""
    job = page.locator(JOB)
    expect(job).to_have_attribute("data-status", "SUCCEEDED", timeout=timeout)
    return job.get_attribute("data-job-id") or ""


def params(page: Page, job_id: str) -> dict[str, Any]:
    return gql(page, JOB_PARAMS, {"id": job_id})["job"]


def in_view(page: Page, selector: str) -> bool:
    """Whether the element's top is on screen, below the sticky site header."""
    return page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                    const header = document.querySelector('.site-header').getBoundingClientRect();
                    return r.top >= header.bottom && r.top < window.innerHeight; }""",
        selector,
    )


FOCUSED_OUTPUT = "() => document.activeElement?.dataset?.testid === 'output'"


def requests_elsewhere(page: Page) -> list[str]:
    """The URLs the page asks for from another origin (it must ask for none), as they go."""
    outside: list[str] = []

    def check(request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in {"http", "https", "ws", "wss"} and url.netloc != urlsplit(page.url).netloc:
            outside.append(request.url)

    page.on("request", check)
    return outside


def train_clones(page: Page, names: list[str]) -> None:
    """Trains the clones through the API (multipart, with the session cookie and the CSRF
    header), on the tiny default model with two steps: a few seconds each. One at a time:
    trainings started together in the embedded server can fail on diffusers' lazy imports
    racing in two threads ("cannot import name 'AutoencoderKL'")."""
    for seed, name in enumerate(names):
        files = photos(3, seed=seed)
        operations = {
            "query": CREATE_CLONE,
            "variables": {
                "input": {"name": name, "triggerWord": name.lower(), "trainingSteps": 2},
                "images": [None] * len(files),
            },
        }
        multipart: dict[str, Any] = {
            "operations": json.dumps(operations),
            "map": json.dumps({str(i): [f"variables.images.{i}"] for i in range(len(files))}),
        }
        for i, (filename, data) in enumerate(files):
            kind = "image/jpeg" if filename.endswith("jpeg") else "image/png"
            multipart[str(i)] = {"name": filename, "mimeType": kind, "buffer": data}
        response = page.request.post(
            "/graphql", multipart=multipart, headers={"X-Neurall-CSRF": "1"}
        )
        assert response.ok, response.text()
        created = response.json()["data"]["createClone"]
        assert created["__typename"] == "Clone", response.text()
        for _ in range(240):
            clone = gql(page, CLONE, {"id": created["id"]})["clone"]
            assert clone["status"] != "FAILED", clone
            if clone["status"] == "READY":
                break
            page.wait_for_timeout(250)
        assert clone["status"] == "READY", clone


def set_slider(page: Page, label: str, value: float) -> None:
    """A range input moved with the keyboard, as a person without a mouse would."""
    slider = page.get_by_label(label, exact=True)
    slider.focus()
    slider.press("Home")
    step = float(slider.get_attribute("step") or 1)
    low = float(slider.get_attribute("min") or 0)
    for _ in range(round((value - low) / step)):
        slider.press("ArrowRight")
    expect(slider).to_have_value(re.compile(rf"^{value:g}(\.0+)?$"))


def test_models_priority_clones_and_where_the_job_shows(signed_in: Page) -> None:
    page = signed_in
    outside = requests_elsewhere(page)
    train_clones(page, ["Ada", "Grace"])
    # The first job's images arrive marked as flagged by a safety checker (the embedded
    # server runs none): the page blurs them and says why.
    flag = {"on": True}

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            event = ((data.get("payload") or {}).get("data") or {}).get("jobEvents")
            if flag["on"] and event and event["images"]:
                for image in event["images"]:
                    image["flagged"] = True
                message = json.dumps(data)
            ws.send(message)

        ws.on_message(server.send)
        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/graphql$"), route)
    catalog = {m["id"]: m for m in gql(page, MODELS)["models"]}
    picker = page.get_by_label("Model", exact=True)
    page.get_by_label("Prompt", exact=True).fill("a paper lantern")

    for index, model_id in enumerate(["tiny-sd", "tiny-sdxl", "tiny-flux"]):
        model = catalog[model_id]
        picker.select_option(model_id)
        expect(page.get_by_label("Scheduler").locator("option")).to_have_text(
            [SCHEDULER_NAMES[s] for s in model["schedulers"]]
        )
        standard = f"Standard · {model['creditsPerImage']} credit"
        expect(page.get_by_label(re.compile("^Standard"))).to_be_checked()
        expect(page.locator("label[for=priority-STANDARD]")).to_contain_text(standard)
        state = {"READY": "Loaded", "LOADING": "Loading now", "COLD": "Not loaded"}[model["state"]]
        expect(page.get_by_test_id("model-state")).to_contain_text(state)
        if model["state"] != "READY":
            expect(page.get_by_test_id("model-wait")).to_contain_text(model["name"])
        page.get_by_label("Steps").fill("2")
        if index == 1:
            # On a desktop (1280 x 800) the job stays in view beside the form, scrolled
            # to its end; focus moves to it, not to the body.
            page.set_viewport_size({"width": 1280, "height": 800})
            page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
            generate_button(page).click()
            expect(page.locator(JOB)).to_be_visible()
            page.wait_for_function(FOCUSED_OUTPUT)
            assert in_view(page, "[data-testid=output]")
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOTS / "generate-scrolled-desktop.png")
        elif index == 2:
            # On a phone the job is below the form: it scrolls into view, focused.
            page.set_viewport_size({"width": 390, "height": 844})
            generate_button(page).click()
            expect(page.locator(JOB)).to_be_visible()
            page.wait_for_function(FOCUSED_OUTPUT)
            assert in_view(page, "[data-testid=output]")
        else:
            generate_button(page).click()
        # When the job ends the catalog is asked again: a model that was COLD is loaded now.
        with page.expect_request(lambda r: "query Models" in (r.post_data or ""), timeout=180_000):
            job_id = finish(page, timeout=180_000)
        expect(page.get_by_test_id("job-model")).to_have_text(model["name"])
        expect(page.get_by_test_id("job-priority")).to_have_text("Standard priority")
        expect(page.get_by_test_id("job-cost")).to_have_text(re.compile(r"^Charged \d+ credits?$"))
        assert params(page, job_id)["params"]["model"] == model_id
        if index == 0:
            result = page.get_by_test_id("result-image")
            expect(result).to_have_attribute("data-flagged", "true")
            expect(result).to_have_accessible_name(re.compile("flagged and blurred"))
            expect(page.get_by_test_id("flag-note")).to_have_text(
                "Blurred: the safety checker flagged this image as possibly unsafe."
            )
            assert "blur" in result.evaluate("(img) => getComputedStyle(img).filter")
            flag["on"] = False
        if index == 2:
            # Tiny FLUX has run: the catalog, asked again, says it is loaded.
            expect(page.get_by_test_id("model-state")).to_have_text(re.compile("^Loaded"))
            screenshot(page, "generate-phone-result")
    page.set_viewport_size({"width": 1280, "height": 900})

    # BATCH: its price beside it, in the estimate, and what is charged. 512 x 512 at 21
    # steps costs 2 credits at STANDARD priority, 1 at BATCH.
    picker.select_option("tiny-sd")
    page.get_by_label("Size").select_option("512x512")
    page.get_by_label("Steps").fill("21")
    expect(page.get_by_test_id("estimate")).to_have_text("2 credits")
    batch = page.get_by_label(re.compile("^Batch"))
    expect(page.locator("label[for=priority-BATCH]")).to_have_text(
        f"Batch · {catalog['tiny-sd']['batchCreditsPerImage']} credit/image"
    )
    batch.check()
    expect(page.get_by_text("may wait for hours", exact=False)).to_be_visible()
    expect(page.get_by_test_id("estimate")).to_have_text("1 credit")
    before = me(page)["credits"]
    generate_button(page).click()
    expect(page.get_by_test_id("job-priority")).to_have_text("Batch priority")
    job_id = finish(page)
    expect(page.get_by_test_id("job-cost")).to_have_text("Charged 1 credit")
    charged = params(page, job_id)
    assert charged["priority"] == "BATCH", charged
    assert charged["costCredits"] == 1, charged
    assert me(page)["credits"] == before - 1

    # Two clones, each with its weight; only READY clones of the chosen model are offered
    # (the page asked for the clones while they trained: a reload asks again).
    page.get_by_label("Size").select_option("default")
    page.get_by_label("Steps").fill("2")
    page.get_by_label(re.compile("^Standard")).check()

    page.reload()
    page.get_by_label("Prompt", exact=True).fill("ada and grace at a desk")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Add a clone").click()
    page.get_by_role("button", name="Add a clone").click()
    expect(page.get_by_test_id("clone-row")).to_have_count(2)
    expect(page.get_by_role("button", name="Add a clone")).to_have_count(0)
    set_slider(page, "Clone 1 weight", 0.5)
    set_slider(page, "Clone 2 weight", 1.25)
    expect(page.get_by_test_id("clone-weight")).to_have_text(["0.50", "1.25"])
    assert serious_violations(page) == []
    screenshot(page, "generate-clones")
    picker.select_option("tiny-flux")
    expect(page.get_by_test_id("clone-row")).to_have_count(0)
    expect(page.get_by_text("None of your clones is ready for this model.")).to_be_visible()
    picker.select_option("tiny-sd")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Add a clone").click()
    page.get_by_role("button", name="Add a clone").click()
    set_slider(page, "Clone 1 weight", 0.5)
    set_slider(page, "Clone 2 weight", 1.25)
    generate_button(page).click()
    job_id = finish(page)
    clones = {c["name"]: c["id"] for c in gql(page, CLONES)["clones"]}
    adapters = params(page, job_id)["params"]["adapters"]
    names = [page.get_by_label("Clone 1", exact=True), page.get_by_label("Clone 2", exact=True)]
    chosen = [n.input_value() for n in names]
    assert sorted(chosen) == sorted(clones.values())
    assert adapters == [
        {"cloneId": chosen[0], "weight": 0.5},
        {"cloneId": chosen[1], "weight": 1.25},
    ]
    assert not outside, outside


def multipart_files(request: Request) -> dict[str, bytes]:
    """The file parts of a GraphQL multipart request, by the variable each fills."""
    body = request.post_data_buffer or b""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }
    mapping = json.loads(parts.pop("map"))
    return {paths[0].rsplit(".", 1)[-1]: parts[key] for key, paths in mapping.items()}


def white(mask: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of pixels painted (white) within ``box``."""
    pixels = mask.crop(box).tobytes()
    return sum(1 for p in pixels if p >= 128) / len(pixels)


def test_image_to_image_history_inpainting_and_generate_again(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    start = tmp_path / "start.png"
    Image.radial_gradient("L").resize((64, 64)).convert("RGB").save(start)
    generates: list[Request] = []

    def capture(route: Route) -> None:
        if b"Generate(" in (route.request.post_data_buffer or b""):
            generates.append(route.request)
        route.continue_()

    page.route("**/graphql", capture)
    lazy: list[str] = []
    page.on("request", lambda r: lazy.append(r.url) if "MaskPainter" in r.url else None)
    outside = requests_elsewhere(page)

    # Image-to-image from an uploaded file, with a strength.
    page.get_by_label("Prompt", exact=True).fill("a stone bridge")
    page.get_by_label("Steps").fill("4")
    page.get_by_label("Image to image").check()
    page.get_by_label("Start image").set_input_files(start)
    expect(page.get_by_test_id("start-image-note")).to_contain_text(
        "start.png (64 \N{MULTIPLICATION SIGN} 64)"
    )
    set_slider(page, "Strength", 0.5)
    generate_button(page).click()
    first = finish(page)
    kept = params(page, first)["params"]
    assert (kept["mode"], kept["strength"]) == ("IMAGE_TO_IMAGE", 0.5), kept
    assert set(multipart_files(generates[-1])) == {"initImage"}

    # "Use as start" on the result: every parameter kept, the result fetched again.
    page.get_by_role("button", name="Use as start").click()
    expect(page.get_by_test_id("start-image-note")).to_contain_text("a result of yours")
    expect(page.get_by_label("Strength")).to_have_value("0.5")
    expect(page.get_by_label("Image to image")).to_be_checked()
    generate_button(page).click()
    second = finish(page)
    assert params(page, second)["params"]["strength"] == 0.5

    # From the history: its "Use as start" brings the image and the parameters back.
    page.goto(f"/history/{second}")
    page.get_by_role("button", name="Use as start").click()
    expect(page.get_by_test_id("start-image-note")).to_contain_text("from your history")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a stone bridge")
    assert not lazy, "the mask painter loads only for inpainting"

    # Inpainting: the mask painted by mouse over the start image.
    page.get_by_label("Inpainting").check()
    page.get_by_label("Scheduler").select_option("EULER")
    page.get_by_label(re.compile("^Batch")).check()
    page.get_by_label("Random seed").check()
    canvas = page.get_by_test_id("mask-canvas")
    expect(canvas).to_be_visible()
    assert lazy, "the mask painter is its own chunk"
    set_slider(page, "Brush size", 8)
    box = canvas.bounding_box()
    assert box

    def stroke(x0: float, y0: float, x1: float, y1: float) -> None:
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=8)
        page.mouse.up()

    stroke(0.15, 0.25, 0.85, 0.25)  # a line across the upper quarter
    stroke(0.15, 0.75, 0.85, 0.75)  # one across the lower quarter, then undone
    expect(page.get_by_role("button", name="Undo")).to_be_enabled()
    page.get_by_role("button", name="Undo").click()
    page.get_by_label("Erase").check()
    stroke(0.5, 0.1, 0.5, 0.4)  # erased: a gap in the middle of the line
    expect(page.get_by_test_id("mask-share")).to_contain_text("of the image will be repainted")
    assert serious_violations(page) == []
    screenshot(page, "generate-inpaint")
    generate_button(page).click()
    inpainted = finish(page)
    files = multipart_files(generates[-1])
    assert set(files) == {"initImage", "mask"}
    mask = Image.open(io.BytesIO(files["mask"]))
    assert mask.format == "PNG"
    assert mask.size == (64, 64)
    mask = mask.convert("L")
    assert white(mask, (12, 14, 24, 19)) > 0.9, "left of the line painted"
    assert white(mask, (42, 14, 52, 19)) > 0.9, "right of the line painted"
    assert white(mask, (30, 12, 35, 22)) == 0, "the middle erased"
    assert white(mask, (0, 30, 64, 64)) == 0, "the undone stroke is not in the mask"
    assert white(mask, (0, 0, 64, 8)) == 0
    inpaint = params(page, inpainted)
    assert inpaint["params"]["mode"] == "INPAINT"

    # "Generate again": the same parameters, mask and start image, a new seed.
    page.get_by_role("button", name="Generate again").click()
    expect(page.locator(JOB)).not_to_have_attribute("data-job-id", inpainted)
    again = finish(page)
    files_again = multipart_files(generates[-1])
    assert files_again["mask"] == files["mask"]
    assert files_again["initImage"] == files["initImage"]
    before, after = inpaint["params"], params(page, again)["params"]
    assert {**before, "seed": None} == {**after, "seed": None}, (before, after)
    assert before["seed"] != after["seed"], "a random seed stays random"
    assert (after["scheduler"], after["priority"]) == ("EULER", "BATCH")
    assert not outside, outside
