"""Where emgse finds its data (:mod:`emgse.resources`): the shipped data beside the package, the
paper's data under one root given by the caller or ``EMGSE_DATA``, nowhere else."""

import pytest

from emgse.resources import DATA_ENV, data_folder, data_note, find_data_root


def test_data_folder_is_under_the_given_root_else_emgse_data(tmp_path, monkeypatch):
    given, env = tmp_path / "given", tmp_path / "env"
    (given / "noise" / "train").mkdir(parents=True)
    (env / "noise" / "test").mkdir(parents=True)
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_folder("noise", "train", root=given) == given / "noise" / "train"
    assert data_folder("noise", "test", root=given) is None  # the subfolder must exist
    assert data_folder("noise", "test") is None and find_data_root() == (None, "")  # no root: none
    monkeypatch.setenv(DATA_ENV, str(env))
    assert data_folder("noise", "test") == env / "noise" / "test" and find_data_root() == (env, DATA_ENV)
    assert data_folder("noise", "test", root=given) is None  # a given root replaces EMGSE_DATA
    assert find_data_root(given) == (given, "--data-root")
    monkeypatch.setenv(DATA_ENV, "")
    assert find_data_root() == (None, "")  # empty: unset


def test_nothing_looks_beside_the_package_or_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "shared" / "data" / "noise" / "train").mkdir(parents=True)  # the old rule's ../shared/data
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_folder("noise", "train") is None


@pytest.mark.parametrize(("root", "env", "found", "line"), [
    (None, None, None, "data: none -- generated noises; set --data-root or EMGSE_DATA"),
    ("/x/shared/data", None, True, "data: /x/shared/data (--data-root)"),
    (None, "/y/data", None, "data: /y/data (EMGSE_DATA)"),
    ("/x/shared/data", None, False, "data: /x/shared/data (--data-root), holding none of the data looked for -- generated noises"),
])
def test_the_data_line_names_the_root_and_where_it_came_from(root, env, found, line, monkeypatch):
    if env is None:
        monkeypatch.delenv(DATA_ENV, raising=False)
    else:
        monkeypatch.setenv(DATA_ENV, env)
    assert data_note(root, found) == line
