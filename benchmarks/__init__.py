"""The benchmarks: printed tables, one command each, run from the repository root as
``python -m benchmarks.<name>`` (docs/benchmarks.md lists them).

They read the paper's data (noises, recorded speech, real pairs) through the package's one rule,
:func:`emgse.resources.data_folder`: the ``EMGSE_DATA`` environment variable. Benchmarks are
development tools run from a checkout, so when ``EMGSE_DATA`` is unset they set it to the
development layout, ``../shared/data`` beside the checkout, if that folder exists (:data:`DEV_DATA`).
The installed package itself never looks there.
"""

import os
from pathlib import Path

from emgse.resources import DATA_ENV

DEV_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # the development machines' data, beside the checkout

if not os.environ.get(DATA_ENV) and DEV_DATA.is_dir():
    os.environ[DATA_ENV] = str(DEV_DATA)
