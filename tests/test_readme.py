"""The README's two commands are the ones CI and users run; keep them consistent."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "pip install" in main_job and "emgse " in main_job
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci
    # under `set -e` only the last command of an `&&` chain stops the script: a failed install must fail CI
    line = next(x for x in ci.splitlines() if tests.strip() in x)
    assert line.strip().endswith("|| exit 1") and "set -euo pipefail" in ci
