"""The `python -m skmtl paper` command reproduces the paper's tables."""

import numpy as np

from skmtl.__main__ import main
from skmtl.experiments import _paper


def test_paper_quick_prints_both_tables(capsys, tmp_path):
    plot = tmp_path / "table1.png"
    assert main(["paper", "--quick", "--plot", str(plot)]) == 0
    out, err = capsys.readouterr()
    assert "Table I" in out and "Dynamic step size" in out
    assert "[3/3] offset 5, T = 15" in err  # the progress display
    assert plot.stat().st_size > 0
    # The paper's numbers are printed next to ours.
    assert "156" in out and "239" in out and "163.6 -> 144.8" in out


def test_table_one_rows_and_ratios():
    rows = _paper.table_one(offsets=(5,), n_tasks=(5,), seeds=(0,))
    (row,) = rows
    assert row["offset"] == 5 and row["T"] == 5
    assert row["paper_amtl"] == 156 and row["paper_smtl"] == 239
    np.testing.assert_allclose(row["ratio"], row["amtl"] / row["smtl"])
    # AMTL does not wait for the slowest task of each round.
    assert 0 < row["ratio"] < 1
