"""The build command: its error messages, the entry module, and (when
componentize-py is installed) a real build whose error names the user's
file and line."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from storm_wasm import build


def test_entry_module_hands_the_class_to_the_guest_glue():
    assert build.entry_source("wc", None, "bolt").endswith("BoltGuest = _guest.bolt_guest('wc', None)\n")
    assert "SpoutGuest = _guest.spout_guest('s', 'Cls')" in build.entry_source("s", "Cls", "spout")


def test_stateful_worlds_are_used_when_the_contract_has_them(tmp_path):
    assert "Lifecycle = _guest.lifecycle()" in build.entry_source("wc", None, "bolt", stateful=True)
    (tmp_path / "a.wit").write_text("package x:y;\nworld bolt {}\nworld spout {}\n")
    assert not build.has_stateful_worlds(str(tmp_path))
    (tmp_path / "a.wit").write_text("world stateful-bolt {\n}\n  world stateful-spout {\n}\n")
    assert build.has_stateful_worlds(str(tmp_path))


def test_componentize_errors_are_mapped_to_the_users_file_and_line():
    message = (
        "Traceback (most recent call last):\n"
        '  File "/2/_storm_wasm_entry.py", line 3, in <module>\n'
        '  File "/1/storm_wasm/_guest.py", line 45, in _load\n'
        '  File "/0/word_count.py", line 7, in <module>\n'
        "    import numpy\n"
        "ModuleNotFoundError: No module named 'numpy'\n"
        "\n\nCaused by:\n    ModuleNotFoundError: No module named 'numpy'\n"
    )
    paths = ["/src/plugins", "/sdk", "/tmp/stage"]
    text = build.explain(message, paths, ["/src/plugins"])
    first, rest = text.split("\n", 1)
    assert first == "/src/plugins/word_count.py:7: ModuleNotFoundError: No module named 'numpy'"
    assert 'File "/sdk/storm_wasm/_guest.py", line 45' in rest
    assert "Caused by" not in rest


def test_the_sdks_own_complaints_come_without_a_traceback():
    message = (
        "Traceback (most recent call last):\n"
        '  File "/1/storm_wasm/_discover.py", line 56, in find_class\n'
        "storm_wasm._discover.DiscoveryError: m must define exactly one Bolt or Spout subclass (found: A, B)\n"
    )
    text = build.explain(message, ["/src", "/sdk"], ["/src"], "/src/m.py")
    assert text == "/src/m.py: m must define exactly one Bolt or Spout subclass (found: A, B)"


def test_syntax_errors_are_reported_before_componentize_runs(tmp_path, capsys):
    module = tmp_path / "broken.py"
    module.write_text("from storm_wasm import Bolt\nclass B(Bolt)\n    pass\n")
    assert build.main([str(module), "-o", str(tmp_path / "out.wasm")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {module}:2: SyntaxError: ")


def test_not_a_module(tmp_path, capsys):
    assert build.main([str(tmp_path / "missing.py"), "-o", str(tmp_path / "o.wasm")]) == 1
    assert "not a Python file" in capsys.readouterr().err
    bad = tmp_path / "my-bolt.py"
    bad.write_text("")
    assert build.main([str(bad), "-o", str(tmp_path / "o.wasm")]) == 1
    assert "is not a Python identifier" in capsys.readouterr().err


componentize = pytest.mark.skipif(
    shutil.which("componentize-py", path=os.path.dirname(sys.executable)) is None
    and not __import__("importlib").util.find_spec("componentize_py"),
    reason="componentize-py is not installed",
)


@pytest.mark.slow
@componentize
def test_an_import_time_error_in_the_module_names_its_file_and_line(tmp_path):
    module = tmp_path / "failing_bolt.py"
    module.write_text(
        textwrap.dedent(
            """\
            from storm_wasm import Bolt

            LIMITS = {"a": 1}
            DEFAULT = LIMITS["b"]


            class FailingBolt(Bolt):
                def process(self, tup):
                    pass
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "storm_wasm.build", str(module), "-o", str(tmp_path / "o.wasm")],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(build.__file__))),
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {module}:4: KeyError: 'b'\n"), proc.stderr
    assert "Stack backtrace" not in proc.stderr and "Caused by" not in proc.stderr
