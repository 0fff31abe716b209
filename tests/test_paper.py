"""The `python -m skmtl paper` command reproduces the paper's tables."""

import numpy as np
import pytest

from skmtl.__main__ import main
from skmtl.experiments import JITTERS, _paper

SMALL = {"n_samples": 30, "n_features": 8, "rank": 1}


@pytest.fixture
def small_problem(monkeypatch):
    # The paper's tables on a smaller problem: same code path, a few seconds.
    monkeypatch.setattr(_paper, "PROBLEM_KWARGS", SMALL)


def test_paper_quick_prints_the_tables(small_problem, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "table1.png"
    assert main(["paper", "--quick", "--plot", str(plot)]) == 0
    out, err = capsys.readouterr()
    assert "Table I" in out and "Dynamic step size" in out
    assert "[3/3] offset 5, T = 15" in err  # the progress display
    assert plot.stat().st_size > 0
    # The paper's numbers are printed next to ours.
    assert "156" in out and "239" in out and "163.6 -> 144.8" in out
    # The jitter-distribution table: every distribution, and straggler rows.
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "| wait ratio |" in line)
    assert lines[header].split("|")[0].strip() == "jitter"
    body = [line.split("|") for line in lines[header + 2 : header + 2 + 6]]
    assert [c[0].strip() for c in body] == [*JITTERS, "constant", "exponential"]
    assert [c[1].strip() for c in body] == ["0"] * 4 + ["1"] * 2
    assert all(c[2].strip() == "10" for c in body)
    assert "2/(1+H_T) figure holds for exponential jitter only" in out


def test_table_one_rows_and_ratios():
    rows = _paper.table_one(offsets=(5,), n_tasks=(5,), seeds=(0,))
    (row,) = rows
    assert row["offset"] == 5 and row["T"] == 5
    assert row["paper_amtl"] == 156 and row["paper_smtl"] == 239
    np.testing.assert_allclose(row["ratio"], row["amtl"] / row["smtl"])
    # AMTL does not wait for the slowest task of each round.
    assert 0 < row["ratio"] < 1


def _table_one_rows():
    return [
        {"offset": 5, "T": T, "amtl": a, "smtl": s, "paper_amtl": pa,
         "paper_smtl": ps, "n_seeds": 3}
        for T, a, s, pa, ps in [(5, 260, 380, 156, 239), (10, 290, 440, 173, 248)]
    ]  # fmt: skip


def _jitter_rows():
    return [
        {"jitter": j, "stragglers": k, "T": T, "ratio": r}
        for j, k, r in [("constant", 0, 1.1), ("exponential", 0, 0.6),
                        ("exponential", 1, 0.4)]
        for T in (5, 10)
    ]  # fmt: skip


def test_paper_figure_title_and_axes_in_virtual_seconds():
    pytest.importorskip("matplotlib")
    fig = _paper.paper_figure(_table_one_rows(), _jitter_rows())
    bars, ratios = fig.axes
    assert fig._suptitle is not None and "AMTL against SMTL" in fig._suptitle.get_text()
    assert bars.get_title().startswith("Table I")
    assert "virtual seconds (simulated clock)" in bars.get_ylabel()
    assert "virtual seconds" in bars.get_xlabel()
    assert "(s)" not in bars.get_ylabel() + bars.get_xlabel()
    assert ratios.get_title() and "virtual seconds" in ratios.get_ylabel()
    assert ratios.get_xlabel() == "number of tasks T"
    labels = [t.get_text() for t in ratios.get_legend().get_texts()]
    assert labels == ["constant", "exponential", "exponential, 1 straggler"]
    # Real threads: milliseconds of wall-clock time, one panel.
    fig = _paper.paper_figure(_table_one_rows(), backend="threading")
    (bars,) = fig.axes
    assert "wall-clock milliseconds" in bars.get_ylabel()


def test_plot_writes_a_png_with_agg(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path / "fig.png"
    _paper._plot(_table_one_rows(), _jitter_rows(), path, "simulated")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
