"""Tests of :mod:`emgse.experiments`; what several of its files share."""

import csv

from emgse.baselines import available_baselines

BASELINES = available_baselines()  # every table adds the installed baselines (none where only .[dev] is installed)


def read_scores(path):
    """A scores or mixtures CSV as rows of strings."""
    with open(path) as f:
        return list(csv.DictReader(f))
