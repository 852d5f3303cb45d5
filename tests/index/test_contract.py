"""The engine and the bot tests' stand-in both offer every call the bot makes, with the bot's arguments."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from index.contract import ArchiveEngine
from index.engine import Engine
from index.settings import Settings
from tests.bot.recording_engine import RecordingEngine
from tests.conftest import ROOT

MEMBERS = sorted(name for name, value in vars(ArchiveEngine).items() if callable(value) and not name.startswith("_"))


def incompatibilities(protocol_member, member) -> list[str]:
    """How ``member``'s signature fails the protocol's: a parameter missing, of another kind or default, or an
    extra one the bot would not pass."""
    wanted = inspect.signature(protocol_member)
    offered = inspect.signature(member)
    wanted_params = [p for p in wanted.parameters.values() if p.name != "self"]
    offered_params = dict(offered.parameters)
    problems = []
    for p in wanted_params:
        got = offered_params.pop(p.name, None)
        if got is None:
            problems.append(f"no parameter {p.name}")
        elif (got.kind, got.default, str(got.annotation)) != (p.kind, p.default, str(p.annotation)):
            problems.append(f"{p.name} is {got} instead of {p}")
    problems += [f"{p.name} has no default" for p in offered_params.values() if p.default is p.empty]
    if str(offered.return_annotation) != str(wanted.return_annotation):
        problems.append(f"returns {offered.return_annotation} instead of {wanted.return_annotation}")
    return problems


def test_the_contract_lists_exactly_what_the_bot_calls():
    bot_code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py") if "cli" not in p.parts)
    called = set(re.findall(r"\bengine\.([a-z_]+)\b", bot_code))
    assert called == set(MEMBERS)


@pytest.fixture
def real_engine(tmp_path: Path):
    engine = Engine(Settings(home=tmp_path / "home", model_cache=tmp_path / "cache"))
    yield engine
    engine.close()


@pytest.mark.parametrize("name", MEMBERS)
def test_the_engine_satisfies_the_contract(name, real_engine):
    assert incompatibilities(getattr(ArchiveEngine, name), getattr(real_engine, name)) == []


@pytest.mark.parametrize("name", MEMBERS)
def test_the_bot_tests_recording_engine_satisfies_the_contract(name, real_engine):
    fake = RecordingEngine(real_engine)
    assert incompatibilities(getattr(ArchiveEngine, name), getattr(fake, name)) == []
    assert fake.calls == []  # looking a member up records no call


def test_a_member_with_another_signature_is_caught():
    def ask(question: str, *, filters=None) -> str: ...

    assert incompatibilities(ArchiveEngine.ask, ask)
