"""pytest's warning filters (pyproject.toml): other packages' deprecations hidden, ours fail.

Run in a fresh pytest on a throwaway test file, with the project's configuration.
"""

import subprocess
import sys

from clinic.paths import PROJECT_ROOT

WARNING_TESTS = '''
import warnings

def warn_from(module, category=DeprecationWarning):
    exec("import warnings; warnings.warn('from ' + __name__, category)",
         {"__name__": module, "category": category})

def test_third_party_deprecations_are_hidden():
    for module in ("pkg_resources", "packaging.requirements", "actionsx", "sanic_cors.extension"):
        warn_from(module)
    warn_from("jax", PendingDeprecationWarning)

def test_other_warnings_are_shown():
    warn_from("sqlalchemy", UserWarning)

def test_a_project_deprecation_fails_clinic():
    warn_from("stores.tracker")

def test_a_project_deprecation_fails_webapp():
    warn_from("webapp")

def test_a_project_deprecation_fails_new_package():
    warn_from("safety.red_flags", PendingDeprecationWarning)
'''


def test_third_party_deprecations_are_hidden_and_the_projects_fail(tmp_path):
    (tmp_path / "test_warnings.py").write_text(WARNING_TESTS)
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed test file)
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
         str(PROJECT_ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("3 failed, 2 passed, 1 warning"), result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert [line.split("::")[1].split()[0] for line in failed] == [
        "test_a_project_deprecation_fails_clinic", "test_a_project_deprecation_fails_webapp",
        "test_a_project_deprecation_fails_new_package"]
    assert "UserWarning: from sqlalchemy" in result.stdout
