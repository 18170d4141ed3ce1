"""Cloning in the browser: photos from the file chooser, a per-file error from the server,
the loss chart drawing while it trains, READY with its photos deleted, then generating."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    rng = random.Random(7)
    paths = []
    for i in range(3):
        image = Image.new("RGB", (96, 96), (rng.randrange(256), 90, 160))
        for _ in range(200):
            x, y = rng.randrange(96), rng.randrange(96)
            image.putpixel((x, y), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        path = tmp_path / f"face-{i}.png"
        image.save(path)
        paths.append(path)
    return paths


def test_clone_from_the_file_chooser_watch_the_loss_then_generate_with_it(
    signed_in: Page, photos: list[Path], tmp_path: Path
) -> None:
    page = signed_in
    page.get_by_role("link", name="Clones").click()
    expect(page.get_by_text("No clones yet.")).to_be_visible()
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Trigger word (optional)").fill("adalove")
    page.get_by_label("Training steps (optional)").fill("30")

    # Not an image, though its name says so: the server names it ("images.3").
    fake = tmp_path / "notes.png"
    fake.write_text("these are my notes, not a photo")
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Choose photos").click()
    chooser.value.set_files([*photos, fake])
    thumbs = page.get_by_test_id("thumb")
    expect(thumbs).to_have_count(4)
    page.get_by_role("button", name="Train clone").click()
    bad = thumbs.nth(3)
    expect(bad).to_contain_text(re.compile(r'Image 4 \("notes.png"\)'))
    screenshot(page, "clones-file-error")
    expect(bad).to_have_class(re.compile(r"\bbad\b"))
    expect(thumbs.nth(0)).not_to_have_class(re.compile(r"\bbad\b"))
    page.get_by_role("button", name="Remove notes.png").click()
    expect(thumbs).to_have_count(3)
    # Choosing photos again replaces the choice (dragging adds); the cost is shown first.
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Choose photos").click()
    chooser.value.set_files(photos)
    expect(thumbs).to_have_count(3)
    expect(page.get_by_test_id("clone-cost")).to_contain_text(
        re.compile(r"Training on 3 photos costs \d+ credits?, held when it starts")
    )
    page.get_by_role("button", name="Train clone").click()

    card = page.get_by_test_id("clone-card")
    expect(card).to_have_count(1)
    expect(thumbs).to_have_count(0)
    # The loss is drawn as a line, point by point, while it trains.
    chart = card.get_by_test_id("loss-chart")
    expect(chart).to_be_visible(timeout=120_000)
    expect(chart.locator("path.loss-line")).to_have_attribute("d", re.compile(r"^M[\d.]+,[\d.]+ L"))
    expect(card).to_have_attribute("data-status", "READY", timeout=240_000)
    screenshot(page, "clones-ready")
    assert int(chart.get_attribute("data-points") or 0) >= 2
    expect(card.locator(".badge-ready")).to_have_text("READY")
    expect(card.get_by_test_id("photos-deleted")).to_have_text("Photos deleted")

    card.get_by_role("button", name="Generate with it").click()
    expect(page.get_by_label("Clone 1", exact=True)).to_have_value(re.compile(".+"))
    expect(page.get_by_label("Clone 1 weight")).to_have_value("1")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a photo of adalove")
    page.get_by_label("Steps").fill("10")
    page.get_by_role("button", name="Generate", exact=True).click()
    job = page.get_by_test_id("job")
    expect(job).to_have_attribute("data-status", "SUCCEEDED", timeout=90_000)
    expect(page.get_by_test_id("result-image")).to_be_visible()

    page.get_by_role("link", name="Clones").click()
    page.get_by_test_id("clone-card").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete clone").click()
    expect(page.get_by_text("No clones yet.")).to_be_visible()


DROP = """async ([names, bytes]) => {
  const transfer = new DataTransfer();
  for (const name of names) {
    transfer.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'}));
  }
  const zone = document.querySelector('[data-testid=dropzone]');
  zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true}));
  zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
}"""


def test_photos_dragged_in_show_as_thumbnails_and_too_few_are_refused(
    signed_in: Page, photos: list[Path]
) -> None:
    page = signed_in
    page.goto("/clones")
    page.get_by_label("Name").fill("Dragged")
    data = list(photos[0].read_bytes())
    page.evaluate(DROP, [["a.png", "b.png"], data])
    thumbs = page.get_by_test_id("thumb")
    expect(thumbs).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.thumb img')].every(i => i.naturalWidth === 96)"
    )
    page.get_by_role("button", name="Train clone").click()
    expect(page.get_by_text("Add 3 to 20 photos (you have 2).")).to_be_visible()
    page.evaluate(DROP, [["c.png"], data])
    expect(thumbs).to_have_count(3)
    expect(page.get_by_text("Add 3 to 20 photos")).to_have_count(0)
