import os
import shutil
import subprocess
import sys

from clinic.paths import CONTENT_DIR, PROJECT_ROOT
from knowledge.signoffs import SIGNED_OFF, SignoffStore, read_signoff_file

SCRIPT = PROJECT_ROOT / "scripts" / "signoffs.py"


def run(content_dir, db_url):
    env = {**os.environ, "ESCALATION_DB_URL": db_url, "CLINIC_CONTENT_DIR": str(content_dir)}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=120, check=True).stdout


def test_signoffs_are_exported_to_the_file_and_imported_into_a_fresh_database(
        tmp_path, resources):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    pain = resources.content.answers["pain"]
    first = SignoffStore(f"sqlite:///{tmp_path / 'first.db'}")
    first.record(pain, SIGNED_OFF, "dr.lee", "checked")
    first.dispose()

    output = run(content, f"sqlite:///{tmp_path / 'first.db'}")
    total = len(resources.content.parent_facing())
    assert f"1 review(s) written to signoffs.yml; 1 of {total} texts signed" in output
    assert "EMERGENCY" in output
    assert [(r.text_id, r.actor, r.note) for r in read_signoff_file(content / "signoffs.yml")] \
        == [("pain", "dr.lee", "checked")]

    run(content, f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh = SignoffStore(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert fresh.is_signed(pain)
    finally:
        fresh.dispose()
