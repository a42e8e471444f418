"""The briefing document: its words in Bahasa Indonesia and English, escaped HTML, the PDF read back
with pdftotext; and `posko briefing` reading a real chdb store the sink's row makers filled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from documents.briefing import Format, Lang, render
from tests.briefing_samples import situation


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "briefing.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())  # lines wrap in the tables


def test_the_briefing_tells_ranked_regions_pending_decisions_and_overdue_actions(tmp_path: Path) -> None:
    facts = situation("M-1")
    md = render(facts, Format.MD).decode()
    ranking = md[md.index("## Peringkat wilayah"):md.index("## Keputusan menunggu")]
    assert ranking.index("Kabupaten Batang Hari") < ranking.index("Kabupaten Kerinci")
    assert "Bahaya saat ini +0.36: 1 insiden Segera M-1" in ranking  # each part's why
    assert "Laporan warga: 12 rumah terendam" in ranking  # and its evidence
    decisions = md[md.index("## Keputusan menunggu"):md.index("## Tindakan terlambat")]
    # Batang Hari has a Segera incident and no tanggap darurat; Kerinci's siaga darurat is no such case.
    assert "| Tetapkan status tanggap darurat? | Kabupaten Batang Hari |" in decisions
    assert "Kerinci" not in decisions and "Putuskan status tanggap darurat M-1" in decisions
    overdue = md[md.index("## Tindakan terlambat"):md.index("## Indikator utama")]
    assert "Kaji cepat Muara Bulian M-1" in overdue and "Buka posko pengungsian M-1" in overdue
    assert "Putuskan status" not in overdue  # due in 2 hours
    changes = md[md.index("## Perubahan sejak"):md.index("## Peringkat wilayah")]
    assert "Insiden selesai | Angin kencang Bungo M-1" in changes and "Longsor Kayu Aro" not in changes
    english = render(facts, Format.MD, Lang.EN).decode()
    assert "## Regions in ranked order" in english and "Declare tanggap darurat?" in english
    text = _pdftotext(render(facts, Format.PDF), tmp_path)
    for expected in ("Briefing Situasi — Provinsi Jambi", "Peringkat wilayah", "Kabupaten Batang Hari",
                     "Tetapkan status tanggap darurat?", "Kaji cepat Muara Bulian M-1",
                     "Laporan warga (LAPOR!)"):
        assert expected in text, (expected, text[:2000])


def test_the_briefing_html_escapes_what_people_wrote() -> None:
    facts = situation("<script>alert(1)</script>")
    html = render(facts, Format.HTML).decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_posko_briefing_reads_clickhouse_latest_score_first(tmp_path: Path) -> None:
    store = tmp_path / "clickhouse"
    env = {**os.environ, "POSKO_CLICKHOUSE": f"chdb://{store}", "POSKO_HOME": str(tmp_path)}
    # chdb opens one data path per process: the store is filled in a process of its own.
    subprocess.run([sys.executable, "-c", "import sys; from tests.briefing_samples import store_situation; "
                    "store_situation(sys.argv[1], 'CLI-1')", str(store)], check=True, env=env, timeout=300)
    done = subprocess.run([sys.executable, "-m", "posko.cli", "briefing", "--since", "12", "--format", "md",
                           "-o", "-"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    md = done.stdout
    ranking = md[md.index("## Peringkat wilayah"):md.index("## Keputusan menunggu")]
    rows = [line for line in ranking.splitlines() if line.startswith("| ") and "Kabupaten" in line]
    assert [row.split(" | ")[:2] for row in rows] == [["| 1", "Kabupaten Batang Hari"],
                                                      ["| 2", "Kabupaten Kerinci"]]
    assert "lama CLI-1" not in ranking  # the earlier computation is replaced by the latest
    assert "Banjir Sungai Batanghari" in md and "Insiden selesai | Angin kencang Bungo CLI-1" in md
    assert "Kabupaten Kerinci | Siaga darurat" in md
    assert "Tugas: Evakuasi warga CLI-1" in md[md.index("## Tindakan terlambat"):]
    assert "Putuskan status tanggap darurat CLI-1" in md[md.index("## Keputusan menunggu"):]
    pdf = tmp_path / "briefing.pdf"
    done = subprocess.run([sys.executable, "-m", "posko.cli", "briefing", "-o", str(pdf)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and pdf.read_bytes().startswith(b"%PDF"), done.stderr
