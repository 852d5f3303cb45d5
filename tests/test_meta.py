"""Project-wide promises: documented settings and commands, and an engine that never imports discord."""

import subprocess
import sys

import click

from index.settings import SETTINGS
from tests.conftest import ROOT


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in readme]
    assert not missing, f"README.md lacks {missing}"


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_and_option_has_help():
    from bot.cli import cli as full_cli

    undocumented = []
    for path, command in _commands(full_cli):
        if not (command.help or "").strip():
            undocumented.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                undocumented.append(f"{' '.join(path)} {param.opts[0]}")
    assert not undocumented, undocumented


def test_readme_names_every_top_level_command():
    from bot.cli import cli as full_cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"archivist {name}" in readme for name in full_cli.commands)


def test_the_engine_never_imports_discord():
    modules = sorted(
        "index." + str(p.relative_to(ROOT / "index").with_suffix("")).replace("/", ".")
        for p in (ROOT / "index").rglob("*.py")
        if p.name != "__init__.py"
    )
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('discord' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


def test_every_module_imports():
    """A module broken by a move or a merge fails here, not in the one test that happens to load it."""
    import importlib
    import pkgutil

    for package in ("index", "bot", "scripts"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            importlib.import_module(module.name)
