"""The command line under generated arguments: exit 0 with its output, or a non-zero exit code with
exactly one line on stderr (``check`` reports a broken rule directory on stdout and exits 1);
never a traceback, never an internal error (exit 3)."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pns_rules import NOTICE, default_engine
from pns_rules.cli import main, version_text
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


def _arguments(rule_paths: list[str]) -> st.SearchStrategy[list[str]]:
    kb = default_engine().knowledge_base
    text = st.one_of(
        unicode_text.filter(lambda t: "\x00" not in t),
        st.sampled_from([t for t in LOOKALIKES if "\x00" not in t]),
    )
    numbers = st.sampled_from(
        ["62", "-1", "nan", "inf", "1e999", "120.00001", "0", "-0", "1_0", ""]
    )
    values = st.one_of(
        finding_names(kb), text, numbers, st.sampled_from(["female", "male", "x", "FEMALE"])
    )
    paths = st.sampled_from(rule_paths)
    anything = st.one_of(values, paths)

    def pairs(options: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
        return st.sampled_from(sorted(options)).flatmap(
            lambda name: st.one_of(options[name], anything).map(lambda value: [name, value])
        )

    junk = st.sampled_from(["-h", "--help", "--", "-", "--bogus", "-x"]).map(lambda a: [a])
    suggest = st.lists(
        st.one_of(
            st.sampled_from(["--json", "--lenient"]).map(lambda a: [a]),
            pairs(
                {"--age": numbers, "--sex": values, "--antibody": values, "-a": values}
                | {"--rules": paths}
            ),
            values.map(lambda a: [a]),
            junk,
        ),
        max_size=8,
    )
    check = st.tuples(
        # Without a directory, check analyses the shipped rules: slower, so one time in eight.
        st.sampled_from([[path] for path in rule_paths] + [[]]),
        st.lists(
            st.one_of(
                st.sampled_from(["--strict", "--format=json", "--format=text"]).map(lambda a: [a]),
                pairs({"--format": st.sampled_from(["json", "text", "xml", ""])}),
                junk,
            ),
            max_size=3,
        ),
    ).map(lambda parts: parts[0] + [a for part in parts[1] for a in part])
    ports = st.sampled_from(["8080", "0", "65535", "65536", "-1", "http", ""])
    serve = st.lists(
        st.one_of(
            pairs(
                {
                    "--host": st.sampled_from(["127.0.0.1", "::1", "", "no such host"]),
                    "--port": ports,
                    "--rules": paths,
                    "--max-body-bytes": ports,
                    "--log-level": st.sampled_from(["info", "debug", "loud", ""]),
                }
            ),
            junk,
        ),
        max_size=4,
    )
    return st.one_of(
        suggest.map(lambda rest: ["suggest", *(a for part in rest for a in part)]),
        check.map(lambda rest: ["check", *rest]),
        serve.map(lambda rest: ["serve", *(a for part in rest for a in part)]),
        st.lists(anything, max_size=3),
    )


@profile("cli")
@given(data=st.data())
def test_the_command_line_exits_cleanly(rule_paths: list[str], data: st.DataObject) -> None:
    count("pns-rules (cli.main)")
    argv = data.draw(_arguments(rule_paths))
    out, err = io.StringIO(), io.StringIO()
    served: list[Any] = []
    with (
        redirect_stdout(out),
        redirect_stderr(err),
        mock.patch("uvicorn.Server.run", _served_by(served)),
    ):
        try:
            code = main(argv, out=out)
        except SystemExit as exit:  # argparse: --help, or a usage error
            code = exit.code if isinstance(exit.code, int) else 2
    stdout, stderr = out.getvalue(), err.getvalue()
    assert "Traceback" not in stderr
    command = argv[0] if argv else ""
    options = argv[: argv.index("--")] if "--" in argv else argv  # after "--", all positional
    helped = "-h" in options or "--help" in options
    if code == 0:
        assert stderr == ""
        if helped or stdout == version_text() + "\n":  # --help, --version (or "--vers")
            return
        if command == "suggest" and "--json" in options:
            assert json.loads(stdout)["notice"] == NOTICE
        elif command == "suggest":
            assert NOTICE in stdout
        elif command == "check":
            _check_report(stdout, "ok")
        else:
            assert command == "serve" and "serving" in stdout and served
        return
    if command == "check" and code == 1 and not stderr:  # problems reported on stdout
        _check_report(stdout, "failed")
        return
    assert code in (1, 2), (code, stderr)  # 3 would be an internal error
    lines = stderr.splitlines()
    assert len(lines) == 1 and stderr.endswith("\n"), stderr
    assert lines[0].startswith("pns-rules: error: ")


def _served_by(served: list[Any]) -> Any:
    """A stand-in for ``uvicorn.Server.run`` that records the server's config and returns as
    if it had served and been stopped."""

    def run(server: Any, sockets: Any = None) -> None:
        served.append(server.config)
        server.started = True

    return run


def _check_report(stdout: str, verdict: str) -> None:
    if stdout.startswith("{"):
        assert json.loads(stdout)["ok"] is (verdict == "ok")
    else:
        assert stdout.splitlines()[-1].startswith(f"pns-rules check: {verdict}")
