"""The command line under generated arguments: exit 0 with a report, or a non-zero exit code with
exactly one line on stderr; never a traceback, never an internal error (exit 3)."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import NOTICE
from pns_rules.cli import main
from tests.reliability import count, profile
from tests.strategies import LOOKALIKES, finding_names, unicode_text

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny-rules"


@pytest.fixture(scope="module")
def rule_paths(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("cli")
    good = root / "good"
    shutil.copytree(TINY, good)
    broken = root / "broken"
    shutil.copytree(TINY, broken)
    (broken / "entries.toml").write_text("[[rule]\n")
    a_file = root / "file.toml"
    a_file.write_text("")
    return [str(good), str(broken), str(a_file), str(root / "missing"), "", "/dev/null", "\n"]


def _argv(draw: st.DrawFn, rule_paths: list[str]) -> list[str]:
    from pns_rules import default_engine

    kb = default_engine().knowledge_base
    values = st.one_of(
        finding_names(kb),
        unicode_text.filter(lambda t: "\x00" not in t),
        st.sampled_from([t for t in LOOKALIKES if "\x00" not in t]),
        st.sampled_from(["62", "-1", "nan", "inf", "1e999", "120.00001", "0", "-0", "1_0", ""]),
        st.sampled_from(["female", "male", "x", "FEMALE"]),
        st.sampled_from(rule_paths),
    )
    option = st.one_of(
        st.sampled_from(["--json", "--lenient", "-h", "--help", "--", "-", "--bogus", "-x"]),
        st.tuples(
            st.sampled_from(["--age", "--sex", "--antibody", "-a", "--rules", "--age="]), values
        ).map(lambda pair: f"{pair[0]}{pair[1]}" if pair[0].endswith("=") else list(pair)),
        values,
    )
    argv: list[str] = []
    first = draw(st.one_of(st.just("suggest"), st.sampled_from(["", "frobnicate"]), values))
    argv.append(first)
    for item in draw(st.lists(option, max_size=8)):
        argv.extend(item if isinstance(item, list) else [item])
    return argv


@profile("cli")
@given(data=st.data())
def test_the_command_line_exits_cleanly(rule_paths: list[str], data: st.DataObject) -> None:
    count("pns-rules (cli.main)")
    argv = data.draw(st.composite(lambda draw: _argv(draw, rule_paths))())
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv, out=out)
        except SystemExit as exit:  # argparse: --help, or a usage error
            code = exit.code if isinstance(exit.code, int) else 2
    stderr = err.getvalue()
    assert "Traceback" not in stderr
    if code == 0:
        assert stderr == ""
        text = out.getvalue()
        if "-h" not in argv and "--help" not in argv:
            if "--json" in argv:
                assert json.loads(text)["notice"] == NOTICE
            else:
                assert NOTICE in text
        return
    assert code in (1, 2), (code, stderr)  # 3 would be an internal error
    lines = stderr.splitlines()
    assert len(lines) == 1 and stderr.endswith("\n"), stderr
    assert lines[0].startswith("pns-rules: error: ")
