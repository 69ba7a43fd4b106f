"""ganzoo.paths.classify_source: what a model source is, told once from its files (nothing is loaded)."""

import os

import pytest

from ganzoo import paths, runs


def _names():
    return ["dcgan_mnist", "sngan_cifar10"]


@pytest.fixture()
def sources(tmp_path):
    """A pretrained folder, run directories and files; the model files are empty (nothing reads them)."""
    (tmp_path / "preset").mkdir()
    (tmp_path / "preset" / paths.CARD).write_text("{}")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / paths.CHECKPOINT).write_bytes(b"")
    (tmp_path / "run" / paths.FINAL).write_bytes(b"")
    (tmp_path / "resumable").mkdir()
    (tmp_path / "resumable" / paths.CHECKPOINT).write_bytes(b"")
    (tmp_path / "empty").mkdir()
    (tmp_path / "model.keras").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a model\n")
    return tmp_path


def test_each_kind_and_its_path(sources):
    assert paths.classify_source(sources / "preset") == ("pretrained", sources / "preset")
    assert paths.classify_source(str(sources / "run")) == ("run", sources / "run" / paths.FINAL)
    assert paths.classify_source(sources / "resumable") == ("run", sources / "resumable" / paths.CHECKPOINT)
    assert paths.classify_source(sources / "model.keras") == ("keras", sources / "model.keras")
    assert paths.classify_source("dcgan_mnist", names=_names) == ("name", None)


def test_a_folder_wins_over_a_zoo_entry_of_its_name_and_names_are_listed_only_when_needed(sources, monkeypatch):
    (sources / "dcgan_mnist").mkdir()
    (sources / "dcgan_mnist" / paths.CARD).write_text("{}")
    monkeypatch.chdir(sources)

    def names():
        raise AssertionError("the zoo's names were listed for a path")

    assert paths.classify_source("dcgan_mnist", names=names)[0] == "pretrained"
    assert paths.classify_source("model.keras", names=names)[0] == "keras"


def test_home_is_expanded(sources, monkeypatch):
    monkeypatch.setenv("HOME", str(sources))
    assert paths.classify_source("~/run") == ("run", sources / "run" / paths.FINAL)


def test_a_folder_that_is_neither_a_run_nor_a_pretrained_folder(sources):
    with pytest.raises(FileNotFoundError) as error:
        paths.classify_source(sources / "empty")
    assert str(error.value) == (
        f"No {paths.FINAL} or {paths.CHECKPOINT} in the run directory (has an epoch finished?). "
        f"Received: {sources / 'empty'}"
    )


@pytest.mark.parametrize("source, error, message", [
    ("missing.keras", FileNotFoundError, "^No such model file. Received: .*missing.keras$"),
    ("missing_run", FileNotFoundError,
     r"^No such run directory or \.keras file \(and not a zoo entry name\)\. Received: '.*missing_run'$"),
    ("notes.txt", ValueError, r"^Expected a run directory, a \.keras file or a zoo entry name \(see `ganzoo list`\)\. "
                              r"Received: '.*notes\.txt', a file that is not a \.keras model$"),
])
def test_missing_paths_and_other_files_are_refused(sources, source, error, message):
    with pytest.raises(error, match=message):
        paths.classify_source(sources / source, names=_names)


def test_an_unknown_name_is_refused_with_close_matches():
    with pytest.raises(ValueError) as error:
        paths.classify_source("dcgan_mnst", names=_names)
    assert str(error.value) == (
        "Not a run directory, a .keras file or a zoo entry name. Did you mean 'dcgan_mnist'? "
        "See `ganzoo list` for the 2 entries. Received: 'dcgan_mnst'"
    )
    with pytest.raises(ValueError, match="for the 0 entries. Received: 'dcgan_mnist'$"):
        paths.classify_source("dcgan_mnist")  # no names given


def test_check_source_returns_the_kind_with_the_zoos_names(sources):
    assert runs.check_source("dcgan_mnist") == ("name", None)
    assert runs.check_source(os.fspath(sources / "run")) == ("run", sources / "run" / paths.FINAL)
    assert runs.model_path is paths.model_path


@pytest.mark.parametrize("folder", ["run", "model.keras"])
def test_load_gan_refuses_pretrained_with_weights_of_its_own_before_loading(sources, folder):
    with pytest.raises(ValueError, match=r"holds weights of its own: leave it out\. Received: .* with pretrained=True$"):
        runs.load_gan(sources / folder, pretrained=True)


@pytest.mark.parametrize("folder", ["run", "empty", "model.keras", "notes.txt", "nowhere", "dcgan_mnist"])
def test_create_model_takes_only_a_pretrained_folder_as_pretrained(sources, folder):
    import ganzoo

    source = folder if folder == "dcgan_mnist" else str(sources / folder)
    with pytest.raises(ValueError, match=r"^pretrained must be True or a pretrained folder holding model_card\.json, "
                                         rf"config\.json and model\.weights\.h5\. Received: pretrained={source!r}$"):
        ganzoo.create_model(pretrained=source)
