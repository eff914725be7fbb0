import ast

import yaml

from clinic.paths import CODE_PACKAGES, PROJECT_ROOT
from knowledge import intents
from knowledge.intents import (
    BUTTON_INTENTS,
    COMMAND_INTENTS,
    EMERGENCY_INTENT,
    FALLBACK_INTENT,
    OUT_OF_SCOPE_INTENT,
    REQUEST_HUMAN_INTENT,
    answer_id_for_intent,
    answer_intent,
)

NAMED = {EMERGENCY_INTENT, FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, REQUEST_HUMAN_INTENT,
         *BUTTON_INTENTS, *COMMAND_INTENTS}


def test_answer_intent_naming():
    assert answer_intent("pain") == "ask_pain"
    assert answer_id_for_intent("ask_pain") == "pain"
    assert answer_id_for_intent("greet") is None
    assert answer_id_for_intent(None) is None


def test_every_named_intent_is_in_the_domain():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    # nlu_fallback is Rasa's own (the FallbackClassifier's), never listed in a domain.
    assert NAMED - {FALLBACK_INTENT} <= set(domain["intents"])


def test_intent_names_are_defined_only_in_knowledge_intents():
    # Three copies of "emergency" (content, components, actions) could drift apart unseen.
    sources = [path for package in (*CODE_PACKAGES, "scripts")
               for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]
    defined_elsewhere = []
    for path in sources:
        if path == PROJECT_ROOT / intents.__file__:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            literals = {n.value for n in ast.walk(node.value) if isinstance(n, ast.Constant)}
            if any("INTENT" in name for name in names) and literals & NAMED:
                defined_elsewhere.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert defined_elsewhere == []
