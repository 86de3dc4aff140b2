"""Check items made at render time: gold items (a real interpretation whose rating the lead knows) and
trapping items (the instruction is drawn inside the picture, the prompt is the ordinary one, so only a
participant who looks at the stimulus can follow it), plus the headphone check's stimuli.

Check items are stored as items with ``attention`` set (checked, never analysed) and their ``kind``;
participants meet them at seeded places among the real items (never first).
"""
from __future__ import annotations

import io
import random

from interp_core.study.design import PROMPTS, RATING_SCALE, ItemSpec, RenderedInput, StimulusFile, StudyDesign, _slot

TRAP_TEXT = "Attention: please rate this picture {value} ({label})."


def trap_picture(picture_png: bytes, text: str) -> bytes:
    """``picture_png`` with ``text`` written across its middle on a white band (PNG)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.open(io.BytesIO(picture_png)).convert("RGB")
    width, height = image.size
    draw = ImageDraw.Draw(image)
    size = max(10, width // 18)
    font = ImageFont.load_default(size=size)
    words, lines = text.split(), [""]
    for word in words:  # wrap to the picture's width
        trial = f"{lines[-1]} {word}".strip()
        if draw.textlength(trial, font=font) > width * 0.9 and lines[-1]:
            lines.append(word)
        else:
            lines[-1] = trial
    band = (len(lines) + 1) * int(size * 1.25)
    top = (height - band) // 2
    draw.rectangle([0, top, width, top + band], fill=(255, 255, 255))
    for n, line in enumerate(lines):
        draw.text((width / 2, top + (n + 1) * int(size * 1.25)), line, fill=(0, 0, 0), font=font, anchor="mm")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def check_items(design: StudyDesign, rendered: list[RenderedInput],
                pictures: dict[str, bytes]) -> tuple[list[ItemSpec], list[StimulusFile]]:
    """The gold and trapping items of ``design`` and the pictures the traps need. ``pictures``: stimulus
    key -> PNG bytes of every rendered picture."""
    rng = random.Random(f"checks-{design.seed}")
    scale = [list(v) for v in RATING_SCALE]
    labels = dict(RATING_SCALE)
    items, stimuli = [], []
    for n, gold in enumerate(design.quality.gold):
        r = rendered[gold.input]
        source = {"picture": r.picture, "sound": r.sound, "source": r.source, "stimulus": r.key}
        items.append(ItemSpec(f"gold-{n}", "rating", PROMPTS["rating"], source, [_slot(r.interpretations[gold.condition])], scale,
                              r.class_name, attention=True, expected=gold.expected, kind="gold", tolerance=gold.tolerance))
    for n in range(design.quality.traps):
        r = rendered[n % len(rendered)]
        value = rng.randint(1, 5)
        key = f"trap-{n}.png"
        stimuli.append(StimulusFile(key, "image/png", trap_picture(pictures[r.interpretations[0].picture],
                                                                   TRAP_TEXT.format(value=value, label=labels[value])),
                                    {"check": "trap", "expected": value}))
        slot = {"method": "trap", "model": "", "fingerprint": "", "picture": key, "sound": None, "explained": -1, "explained_name": ""}
        items.append(ItemSpec(f"trap-{n}", "rating", PROMPTS["rating"], {"picture": r.picture, "sound": None, "source": r.source,
                                                                         "stimulus": r.key},
                              [slot], scale, r.class_name, attention=True, expected=value, kind="trap"))
    if design.quality.headphone_check:
        from interp_core.study.headphone import headphone_stimuli

        stimuli += headphone_stimuli(design.seed)
    return items, stimuli
