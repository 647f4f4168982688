"""The benchmark report keeps what a person wrote: ``NOTES.md`` beside it is included as is."""

from __future__ import annotations

from pathlib import Path

from benchmarks.load.report import _hand_notes


def test_notes_beside_the_report_are_included_as_written(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    assert _hand_notes(readme) == []
    (tmp_path / "NOTES.md").write_text("## By hand\n\nThe load was 3.2.\n")
    lines = _hand_notes(readme)
    assert "\n".join(lines).endswith("## By hand\n\nThe load was 3.2.")
    assert any("NOTES.md" in line and "by hand" in line for line in lines)
