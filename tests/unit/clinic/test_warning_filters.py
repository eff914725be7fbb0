"""Third-party deprecation warnings are hidden in the services, the project's own are not.

Run in a fresh interpreter: the filters are process-wide, and pytest manages its own.
"""

import subprocess
import sys

from clinic.paths import PROJECT_ROOT

SCRIPT = """
import warnings
from clinic.warning_filters import install
install()
import sanic.app  # puts "once" for every DeprecationWarning in front of the filters
warnings.filterwarnings("once", category=UserWarning)  # as Rasa's CLI does

def warn_from(module, category):
    exec("import warnings; warnings.warn('from ' + __name__, category)",
         {"__name__": module, "category": category})

class LibraryDeprecation(UserWarning, DeprecationWarning):  # as pyparsing's
    pass

warn_from("pkg_resources", DeprecationWarning)
warn_from("matplotlib.fontconfig_pattern", LibraryDeprecation)
warn_from("sanic_cors.extension", PendingDeprecationWarning)
warn_from("stores.tracker", DeprecationWarning)
warn_from("webapp", DeprecationWarning)
warn_from("actionsx", DeprecationWarning)  # not the project's `actions`
warn_from("sqlalchemy", UserWarning)
"""


def test_only_the_projects_deprecation_warnings_are_shown():
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=60, check=True, env={"PYTHONPATH": str(PROJECT_ROOT)},
    )
    shown = [line for line in result.stderr.splitlines() if "Warning: from " in line]
    assert [line.split("from ")[-1] for line in shown] == ["stores.tracker", "webapp",
                                                          "sqlalchemy"]
