"""Build script for skmtl; the version lives in ``skmtl/__init__.py`` only."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "skmtl" / "__init__.py").read_text(), re.M
).group(1)

EXTRAS = {
    "dask": ["dask[distributed]>=2024.1"],
    "plot": ["matplotlib>=3.6"],
    "tests": [
        "pytest>=7",
        "pytest-timeout>=2.1",
        "cvxpy>=1.4",
        "pandas>=1.5",
        "ruff>=0.5",
        "dask[distributed]>=2024.1",
        "matplotlib>=3.6",
    ],
    "docs": [
        "sphinx>=7",
        "numpydoc>=1.6",
        "sphinx-gallery>=0.18",
        "matplotlib>=3.6",
        "pydata-sphinx-theme>=0.15",
    ],
}

setup(
    name="skmtl",
    version=VERSION,
    description=(
        "Trace-norm multi-task learning for scikit-learn, with Asynchronous "
        "Multi-Task Learning (AMTL)"
    ),
    long_description=(HERE / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_packages(include=["skmtl", "skmtl.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "joblib>=1.2",
        "threadpoolctl>=3.1",
    ],
    extras_require=EXTRAS,
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: BSD License",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Intended Audience :: Science/Research",
    ],
)
