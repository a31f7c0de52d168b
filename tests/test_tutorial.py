"""docs/tutorial.rst, run as a user runs it: every ``$`` command and every ``>>>`` line, in order, in one folder.

A console block's ``$`` lines run in a shell (``cd`` moves the folder for what follows); the lines shown after a
command must appear in its output (stdout and stderr), in order, whitespace-insensitive, with ``...`` standing
for anything. (PYTHONUNBUFFERED keeps stdout and stderr in a terminal's order.) A command whose shown output has an ``error:`` line must exit with status 2, any other with 0.
A ``pycon`` block runs as a doctest (ELLIPSIS), its names kept for the blocks after it.
"""

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.rst"

pytestmark = [
    pytest.mark.skipif(not TUTORIAL.exists(), reason="not a checkout: no docs/tutorial.rst"),
    pytest.mark.skipif(importlib.util.find_spec("casa_formats_io") is None,
                       reason="the tutorial reads CASA image directories: casa-formats-io (astro-i2i[casa])"),
]  # fmt: skip


def _blocks(text):
    """``(kind, lines)`` of each ``code-block:: console`` / ``pycon`` in the page, in order (dedented)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = re.match(r"\.\. code-block:: (console|pycon)\s*$", lines[i])
        i += 1
        if not match:
            continue
        body = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
            body.append(lines[i][4:])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        blocks.append((match.group(1), [line for line in body if line.strip() or match.group(1) == "pycon"]))
    return blocks


def _commands(lines):
    """``(command, expected output lines)`` of a console block."""
    out = []
    for line in lines:
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            out[-1][1].append(line)
    return out


def _shown_in(expected, actual):
    """Each shown line (``...`` lines skipped; ``...`` inside a line is anything) matches an output line, in order."""
    actual = [" ".join(line.split()) for line in actual.splitlines()]
    at = 0
    for line in expected:
        line = " ".join(line.split())
        if line == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part.strip()) for part in line.split("...")))
        while at < len(actual) and not pattern.search(actual[at]):
            at += 1
        if at == len(actual):
            return line
        at += 1
    return None


def test_the_tutorial_runs_as_written(tmp_path):
    blocks = _blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert sum(kind == "console" for kind, _ in blocks) >= 5 and sum(kind == "pycon" for kind, _ in blocks) >= 2
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                       COLUMNS="200", PYTHONWARNINGS="ignore", PYTHONUNBUFFERED="1")  # fmt: skip
    folder, names, ran = tmp_path, {}, 0
    for kind, lines in blocks:
        if kind == "console":
            for command, expected in _commands(lines):
                if command.startswith("cd "):
                    folder = folder / command[3:].strip()
                    assert folder.is_dir(), command
                    continue
                # One stream, unbuffered: the lines in the order a terminal shows them.
                done = subprocess.run(["bash", "-c", command], cwd=folder, env=environment, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, timeout=300)  # fmt: skip
                output = done.stdout
                status = 2 if any(line.startswith("error:") for line in expected) else 0
                assert done.returncode == status, f"$ {command}\nexit {done.returncode}\n{output}"
                missing = _shown_in(expected, output)
                assert missing is None, f"$ {command}\nshown but not printed: {missing!r}\n--- printed:\n{output}"
                ran += 1
        else:
            cwd = os.getcwd()
            os.chdir(folder)
            try:
                test = doctest.DocTestParser().get_doctest("\n".join(lines), names, "tutorial", str(TUTORIAL), 0)
                runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
                report = []
                runner.run(test, out=report.append, clear_globs=False)
                names.update(test.globs)  # a DocTest runs in a copy of the names it is given
            finally:
                os.chdir(cwd)
            assert runner.failures == 0, "".join(report)
            ran += len(test.examples)
    assert ran >= 15
