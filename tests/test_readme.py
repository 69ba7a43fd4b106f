"""The README's set-up stays true: CI runs exactly the README's test command."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _setup_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.strip().splitlines()]


def test_readme_setup_is_two_commands_and_ci_runs_the_test_one():
    install_and_train, test_command = _setup_commands()
    assert install_and_train.startswith("pip install -e") and "ganzoo train" in install_and_train
    ci = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines()
          if l.strip() and not l.lstrip().startswith("#")]
    assert ci[-1] == test_command
