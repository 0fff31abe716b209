"""Sphinx configuration of the skmtl documentation.

Build (from the repository root; see ``doc/building.rst``)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

Offline builds: intersphinx links to NumPy, SciPy, scikit-learn, joblib and
Dask need their ``objects.inv`` inventories.  ``SKMTL_DOCS_OFFLINE=1`` drops
them all; ``SKMTL_DOCS_OFFLINE=0`` keeps them all without checking; unset, each
inventory is probed once with a short timeout and dropped when it cannot be
reached, so that a build without internet has no warnings.
"""

import os
import re
import sys
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Document the checkout, installed or not.
sys.path.insert(0, str(HERE.parent))

import skmtl  # noqa: E402

# -- Project ----------------------------------------------------------------
project = "skmtl"
author = "the skmtl developers"
copyright = "the skmtl developers, BSD-3-Clause"
release = skmtl.__version__
version = ".".join(release.split(".")[:2])

# -- General ----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"
toc_object_entries_show_parents = "hide"  # "fit", not "Class.fit", in page TOCs

# autodoc / autosummary / numpydoc
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


_TRAILING_UNDERSCORE_SHAPE = re.compile(r"\((\w+_),\)")
_EXTERNAL_ROLE = re.compile(r":(?:ref|term):`([^`]+)`")


def _plain_role(match):
    """``:ref:`text <label>``` -> ``text``; ``:ref:`label``` -> ````label````."""
    text = match.group(1)
    if text.endswith(">") and "<" in text:
        return text[: text.rindex("<")].strip()
    return f"``{text}``"


def _fix_docstring(app, what, name, obj, options, lines):
    """Docutils pitfalls in docstrings, repaired before numpydoc parses them.

    - ``of shape (n_features_in_,)``: a word ending in ``_`` is a docutils
      hyperlink reference; quote it, as scikit-learn writes ``(`n_features_in_`,)``.
    - A line ending in ``\\`` in a raw (``r\"\"\"``) docstring was meant as a
      continuation (Python joins such lines only in non-raw strings): join it.
    - A simple table whose first column is wider than its ``====`` border:
      re-pad the first column.
    """
    if not name.startswith("skmtl"):
        return
    if "sklearn" not in app.config.intersphinx_mapping and not getattr(
        obj, "__module__", "skmtl"
    ).startswith("skmtl"):
        # Inherited from scikit-learn (``score``): its :ref: and :term: roles
        # point into scikit-learn's user guide, reachable only with intersphinx.
        lines[:] = [_EXTERNAL_ROLE.sub(_plain_role, line) for line in lines]
    joined = []
    for line in lines:
        if joined and joined[-1].endswith("\\") and not joined[-1].endswith("\\\\"):
            joined[-1] = joined[-1][:-1] + line.lstrip()
        else:
            joined.append(line)
    joined = [_TRAILING_UNDERSCORE_SHAPE.sub(r"(`\1`,)", line) for line in joined]
    lines[:] = _repad_simple_tables(joined)


_BORDER = re.compile(r"^(\s*)(=+)(\s+)(=+)\s*$")


def _repad_simple_tables(lines):
    """Widen the first column of two-column simple tables to fit its text."""
    out, i = [], 0
    while i < len(lines):
        m = _BORDER.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        # A table: from this border to the third border line.
        indent, borders, j = m.group(1), [i], i + 1
        while j < len(lines) and len(borders) < 3:
            if _BORDER.match(lines[j]):
                borders.append(j)
            j += 1
        if len(borders) < 3:
            out.append(lines[i])
            i += 1
            continue
        block = lines[i : borders[-1] + 1]
        width, gap = len(m.group(2)), len(m.group(3))
        rows = []
        for line in block:
            if _BORDER.match(line) or not line.strip():
                rows.append(None)
                continue
            body = line[len(indent) :]
            if not body[:width].strip():  # continuation of the second column
                rows.append(("", body[width + gap :]))
            elif not body[width : width + gap].strip():
                rows.append((body[:width].rstrip(), body[width + gap :]))
            else:  # the first column overflows its border
                k = re.search(r"\s|$", body[width:]).start() + width
                rows.append((body[:k], body[k:].lstrip()))
        new_width = max([width] + [len(r[0]) for r in rows if r])
        if new_width == width:  # nothing overflows: leave the table alone
            out.append(lines[i])
            i += 1
            continue
        border2 = m.group(4)
        for line, row in zip(block, rows, strict=True):
            if row is None and _BORDER.match(line):
                out.append(f"{indent}{'=' * new_width}  {border2}")
            elif row is None:
                out.append(line)
            else:
                out.append(f"{indent}{row[0].ljust(new_width)}  {row[1]}".rstrip())
        i = borders[-1] + 1
    return out


# Pages written alongside the package that may not exist yet in a checkout: a
# toctree entry to a missing page is a warning, so drop the entry until the
# page is there.
OPTIONAL_PAGES = ("dask",)


def _drop_missing_pages(app, docname, source):
    if docname != "index":
        return
    for page in OPTIONAL_PAGES:
        if not (HERE / f"{page}.rst").exists():
            source[0] = re.sub(rf"(?m)^   {page}\n", "", source[0])


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing methods (set_fit_request, ...,
    # get_metadata_routing) are generated per class; their docstrings point at
    # labels of scikit-learn's own user guide, which do not exist here.
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return skip


# -- Intersphinx, with an offline switch ------------------------------------
_INTERSPHINX = {
    "python": ("https://docs.python.org/3/", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "joblib": ("https://joblib.readthedocs.io/en/stable/", None),
    "dask": ("https://docs.dask.org/en/stable/", None),
    "distributed": ("https://distributed.dask.org/en/stable/", None),
    "matplotlib": ("https://matplotlib.org/stable/", None),
}


def _reachable(url, timeout=3.0):
    request = urllib.request.Request(url + "objects.inv", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except Exception:  # DNS failure, refused, timeout, HTTP error: offline
        return False


def _intersphinx_mapping():
    switch = os.environ.get("SKMTL_DOCS_OFFLINE", "").strip().lower()
    if switch in ("1", "true", "yes", "on"):
        return {}
    if switch in ("0", "false", "no", "off"):
        return dict(_INTERSPHINX)
    names = list(_INTERSPHINX)
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        ok = list(pool.map(lambda n: _reachable(_INTERSPHINX[n][0]), names))
    dropped = [n for n, good in zip(names, ok, strict=True) if not good]
    if dropped:
        print(
            "skmtl docs: intersphinx inventories unreachable, links to "
            f"{', '.join(dropped)} disabled (SKMTL_DOCS_OFFLINE=0 forces them)."
        )
    return {n: _INTERSPHINX[n] for n, good in zip(names, ok, strict=True) if good}


intersphinx_mapping = _intersphinx_mapping()
intersphinx_timeout = 10

# -- Sphinx-Gallery ---------------------------------------------------------
# The examples run at every build; each takes seconds and needs no download.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("skmtl",),
    "backreferences_dir": "generated",
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 1,
    "show_memory": False,
    # No sg_execution_times.rst written into the source tree.
    "write_computation_times": False,
    "download_all_examples": False,
}

# -- HTML -------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
        "footer_start": ["copyright"],
        "footer_end": ["sphinx-version"],
    }
except ImportError:  # the docs extra without the theme still builds
    html_theme = "alabaster"
    html_theme_options = {}
html_title = f"skmtl {release}"
html_static_path = []
html_show_sourcelink = False


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("source-read", _drop_missing_pages)
    # Before numpydoc (priority 500) turns the sections into reST.
    app.connect("autodoc-process-docstring", _fix_docstring, priority=100)
