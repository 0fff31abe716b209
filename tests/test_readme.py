"""Every Python block of the README runs as written, standalone, as a script.

Each ``.. code-block:: python`` of README.rst is written to a file and run in
its own interpreter with ``-W error`` (any warning fails the block), from an
empty folder, with HOME pointing at an empty temporary folder (nothing may be
created there) and ``SKMTL_DATA`` naming the suite's data folder (see
conftest.py): a block that loads a real data set is skipped when the data is
absent, and never downloads.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.rst"
TIMEOUT = 600  # seconds per block, far above what any block needs


def python_blocks(text):
    """The code of every ``.. code-block:: python`` directive, dedented."""
    blocks = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not re.fullmatch(r"\.\. code-block:: python\s*", line):
            continue
        body = []
        for following in lines[i + 1 :]:
            if following.strip() and not following[0].isspace():
                break  # the first unindented line ends the directive
            if not body and following.strip().startswith(":"):
                continue  # a directive option such as :caption:
            body.append(following)
        indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        blocks.append("\n".join(b[indent:] for b in body).strip("\n") + "\n")
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3
    assert all(block.strip() for block in BLOCKS)


@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=lambda k: f"block{k + 1}")
def test_readme_block_runs_standalone_without_warnings(k, tmp_path):
    code = BLOCKS[k]
    if re.search(r"\bload_(school|landmine|parkinsons|computer_survey)", code):
        from skmtl.datasets._fetch import _fetch

        try:  # the loaders' own lookup, without downloading
            for key in ("school", "landmine", "parkinsons", "computer_survey"):
                if f"load_{key}" in code:
                    _fetch(key, SHARED_DATA, download_if_missing=False)
        except OSError as exc:
            pytest.skip(f"README block {k + 1} needs real data: {exc}")
    script = tmp_path / "work" / f"readme_block_{k + 1}.py"
    script.parent.mkdir()
    script.write_text(code, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "SKMTL_DATA": str(SHARED_DATA),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "MPLBACKEND": "Agg",
    }
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, (
        f"README block {k + 1} failed:\n{code}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )
    assert list(home.iterdir()) == [], "the block created files under HOME"
