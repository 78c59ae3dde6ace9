"""The package's errors cross process boundaries whole: a grid's worker or a script's process
pool sends them to its parent by pickling, and an error that cannot be rebuilt there broke the
pool ("a process in the process pool was terminated abruptly") instead of being reported."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from mtml_rl.errors import FolderLockedError, MtmlError, SpecError, UnknownNameError
from mtml_rl.families.sim import MissingExtraError
from mtml_rl.training.monitor import DamagedLogError

EXAMPLES: dict[type[MtmlError], MtmlError] = {
    UnknownNameError: UnknownNameError("env id", "mtml/Nope-v0", ["mtml/CartPole-v0"], "See mtml-rl list."),
    SpecError: SpecError("must be a number", source="spec.yaml", field="params.g"),
    FolderLockedError: FolderLockedError("runs/x is being written", folder=Path("runs/x"), pid=12),
    DamagedLogError: DamagedLogError(Path("progress.csv"), "is not a CSV log"),
    MissingExtraError: MissingExtraError("Ant", "mujoco", "mujoco"),
}
"""An instance of each error whose ``__init__`` takes more than a message."""


def every_error_class() -> list[type[MtmlError]]:
    """``MtmlError`` and every subclass of it defined by the package's modules imported here."""
    found: list[type[MtmlError]] = [MtmlError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub.__module__.startswith("mtml_rl"))
    return list(dict.fromkeys(found))


def example(cls: type[MtmlError]) -> MtmlError:
    if cls in EXAMPLES:
        return EXAMPLES[cls]
    if "__init__" in vars(cls):
        pytest.fail(f"{cls.__name__} has its own __init__: add an instance of it to EXAMPLES")
    return cls("what is wrong and how to fix it")


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda cls: cls.__name__)
def test_every_error_survives_pickling_with_its_message_and_attributes(cls: type[MtmlError]) -> None:
    error = example(cls)
    rebuilt = pickle.loads(pickle.dumps(error))
    assert type(rebuilt) is cls
    assert str(rebuilt) == str(error)
    assert vars(rebuilt) == vars(error)


def _raise_unknown_name(name: str) -> None:
    raise UnknownNameError("env id", name, ["mtml/CartPole-v0"])


@pytest.mark.slow  # a process pool
def test_an_error_raised_in_a_worker_process_reaches_the_parent_as_itself() -> None:
    with (
        ProcessPoolExecutor(1) as pool,
        pytest.raises(UnknownNameError, match="unknown env id 'mtml/Nope-v0'"),
    ):
        pool.submit(_raise_unknown_name, "mtml/Nope-v0").result()
