"""The README stays the user's manual and its links stay whole.

README.md has at most 400 lines and opens with "The two commands" (the dashboard command and the test
command that CI runs verbatim, character for character); every relative link in README.md and in
docs/*.md points to an existing file and, for ``#anchor`` links, to an existing heading (GitHub's
slugs); every docs/*.md file is linked from the README, so none is orphaned.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
MAX_README_LINES = 400

DASHBOARD_COMMAND = ("(test -d .venv || python3 -m venv .venv) && .venv/bin/pip install -r requirements.txt "
                     "&& .venv/bin/streamlit run app/main.py")
TEST_COMMAND = ("(test -d .venv || python3 -m venv .venv) && .venv/bin/pip install -q -r requirements.txt "
                "&& .venv/bin/python -m pytest")

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def without_code(markdown: str) -> str:
    """``markdown`` with fenced code blocks and inline code spans blanked out (links there are not links)."""
    return _INLINE_CODE.sub("", _FENCE.sub("", markdown))


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed, spaces -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # keeps letters, digits, '_', '-' and spaces (Unicode-aware)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a Markdown text, with GitHub's ``-1``, ``-2`` suffixes for repeats."""
    seen: dict[str, int] = {}
    result = set()
    for match in _HEADING.finditer(_FENCE.sub("", markdown)):
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(markdown: str) -> list[str]:
    """Link targets that point inside the repository (no scheme, no protocol-relative or mail links)."""
    targets = [m.group(1) for m in _LINK.finditer(without_code(markdown))]
    return [t for t in targets if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", t)]


def broken_links(path: Path) -> list[str]:
    """Every relative link of the Markdown file ``path`` whose file or heading does not exist."""
    problems = []
    for target in relative_links(path.read_text(encoding="utf-8")):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{path.name}: {target} (no file {linked})")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{path.name}: {target} (no heading #{anchor} in {linked.name})")
    return problems


def sections(markdown: str) -> list[tuple[str, str]]:
    """``(title, body)`` of every ``##`` section, in order (headings inside code blocks ignored)."""
    text = _FENCE.sub(lambda m: "\0" * len(m.group(0)), markdown)  # same offsets, no headings inside
    starts = [m for m in re.finditer(r"^## (.+)$", text, re.MULTILINE)]
    return [(m.group(1).strip(), markdown[m.end():(starts[i + 1].start() if i + 1 < len(starts) else len(markdown))])
            for i, m in enumerate(starts)]


def fenced_lines(markdown: str) -> set[str]:
    """Every line inside a fenced code block."""
    return {line.strip() for block in _FENCE.finditer(markdown) for line in block.group(0).splitlines()[1:-1]}


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_a_manual_of_at_most_400_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_two_commands_come_first_verbatim():
    first_title, body = sections(README.read_text(encoding="utf-8"))[0]
    assert first_title == "The two commands"
    commands = fenced_lines(body)
    assert DASHBOARD_COMMAND in commands
    assert TEST_COMMAND in commands


def test_ci_runs_the_readmes_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    marker = next(i for i, line in enumerate(ci) if "README's test command, verbatim" in line)
    assert ci[marker + 1] == TEST_COMMAND


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_to_a_file_and_heading(path):
    assert broken_links(path) == []


def test_every_docs_file_is_linked_from_the_readme():
    linked = {(REPO / t.partition("#")[0]).resolve() for t in relative_links(README.read_text(encoding="utf-8"))
              if t.partition("#")[0]}
    orphans = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert orphans == [], f"docs files not linked from README.md: {orphans}"


def test_the_checker_finds_broken_files_and_anchors(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Grid pointing game\n\n```\n# not a heading\n```\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page · one\n\n## Setup (CLI) `x`\n\n"
        "[ok](other.md#grid-pointing-game) [ok](#page--one) [ok](#setup-cli-x) [web](https://example.org/x.md)\n"
        "`[code](missing.md)`\n\n```\n[block](missing.md)\n```\n"
        "[gone](missing.md) [bad anchor](other.md#not-a-heading) [fenced](other.md#not-a-heading-1)\n"
    )
    assert broken_links(page) == [
        f"page.md: missing.md (no file {tmp_path / 'missing.md'})",
        "page.md: other.md#not-a-heading (no heading #not-a-heading in other.md)",
        "page.md: other.md#not-a-heading-1 (no heading #not-a-heading-1 in other.md)",
    ]
    assert github_slug("Prototypes (KMEx)") == "prototypes-kmex"
    assert github_slug("The `bcos` explainer") == "the-bcos-explainer"
