"""`genrekit serve` as a command: loopback by default, a warning otherwise, clean errors.

The server itself, started by this command, is tested in test_server.py.
"""

from __future__ import annotations

import subprocess

import pytest
from typer.testing import CliRunner

from genrekit.apps.cli import app
from genrekit.apps.serve_cmd import is_loopback
from genrekit.errors import ConfigError
from live_server import genrekit_command


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("localhost", True), ("LocalHost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.org", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_help_shows_the_defaults():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output and "8000" in result.output and "--max-mb" in result.output


@pytest.mark.parametrize("option", ["--max-mb", "--header-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf"])
def test_limits_that_are_not_positive_numbers_are_refused_while_parsing(option, value):
    """Refused before anything is loaded: a missing model would be a different error."""
    result = CliRunner().invoke(app, ["serve", option, value, "--model", "/no/such/model"])
    assert isinstance(result.exception, ConfigError), result.output
    assert str(result.exception) == f"{option} must be a positive number of " \
                                    f"{'MB' if option == '--max-mb' else 'seconds'}, got {float(value):g}"


def test_a_nan_limit_is_one_error_line_and_exit_2():
    done = subprocess.run(genrekit_command() + ["serve", "--max-mb", "nan"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr == "error: --max-mb must be a positive number of MB, got nan\n"


def test_public_host_warns_and_a_missing_model_is_one_error_line(tmp_path):
    missing = tmp_path / "no-such-model"
    done = subprocess.run(genrekit_command() + ["serve", "--host", "0.0.0.0", "--model", str(missing)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("warning: listening on 0.0.0.0, not loopback")
    assert lines[-1] == f"error: {missing}: no such model file or run directory"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("value", ["1.01", "-0.5", "nan"])
def test_min_confidence_outside_0_to_1_is_refused_before_loading(value):
    result = CliRunner().invoke(app, ["serve", "--min-confidence", value, "--model", "/no/such/model"])
    assert result.exit_code == 2 and "--min-confidence" in result.output and "/no/such" not in result.output
