import os
import subprocess
import sys

from clinic.paths import PROJECT_ROOT
from escalation.store import EscalationStore
from feedback.store import FeedbackStore

SCRIPT = PROJECT_ROOT / "scripts" / "answer_report.py"


def run(db_url):
    env = {**os.environ, "ESCALATION_DB_URL": db_url}
    result = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    return result.stdout


def test_prints_votes_and_reasons_from_the_configured_store(tmp_path, resources):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    feedback, store = FeedbackStore(url), EscalationStore(url)
    for number, (answer_id, helpful) in enumerate([
            ("pain", True), ("pain", False), ("side_effects", False), ("side_effects", False)]):
        feedback.record(answer_id, helpful, f"conversation-{number:06d}")
    for reason in ("out_of_scope", "ask_pain", "out_of_scope"):
        store.create(channel="rest", conversation_id="c", urgency="routine", reason=reason,
                     transcript=[{"speaker": "user", "text": "Sam Parent here"}],
                     parent_name="Sam Parent", contact="sam@example.org",
                     question="can Sam Parent's son swim?", consent=True)
    feedback.dispose()
    store.dispose()

    lines = run(url).splitlines()
    votes = [line.split() for line in lines[2:5]]
    assert [row[:3] for row in votes] == [["0", "2", "side_effects"], ["1", "1", "pain"],
                                          ["0", "0", next(iter(resources.content.answers))]]
    start = lines.index("Escalations by reason (3 cases, all statuses)")
    assert [line.split() for line in lines[start + 1:start + 3]] == [
        ["2", "out_of_scope"], ["1", "ask_pain", "(answer:", "pain)"]]
    # Counts only: no question text, no parent details.
    output = "\n".join(lines)
    assert "Sam" not in output and "sam@example.org" not in output and "swim" not in output


def test_empty_store(tmp_path, resources):
    output = run(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert "Escalations by reason (0 cases, all statuses)\n  none" in output
    assert output.count(" 0      0  ") == len(resources.content.answers)
