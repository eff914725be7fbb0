import pytest

from knowledge.message_parts import PARTS_KEY, combine, question_parts, split_parts


@pytest.mark.parametrize(
    ("text", "questions", "background"),
    [
        ("is it safe? and how long does it last?",
         ["is it safe?", "how long does it last?"], False),
        ("what is botox and how does it work", ["what is botox", "how does it work"], False),
        ("my 6 year old has cerebral palsy, what is botox?", ["what is botox?"], True),
        # "and is having" has no subject after the auxiliary: not a new question.
        ("my son is 5 and is having botox next week, will it hurt",
         ["will it hurt"], True),
        ("what are the side effects, how long does it last, and how often do we repeat?",
         ["what are the side effects", "how long does it last", "how often do we repeat?"],
         False),
    ],
)
def test_questions_and_background_are_found(text, questions, background):
    assert question_parts(text) == (questions, background)


@pytest.mark.parametrize(
    "text",
    ["does it hurt?", "Hi! does it hurt?", "is it safe and effective",
     "how soon will we see a difference for his dystonia", "/ask_pain", "", "?!"],
)
def test_one_question_is_not_split(text):
    assert question_parts(text) == ([], False)


def test_a_sentence_without_question_is_background():
    parts = split_parts("He had botox in March. It worked well. Can he have it again?")
    assert [p.is_question for p in parts] == [False, False, True]


ANSWERS = {"pain", "safety", "duration_of_effect", "what_is_botox", "candidates",
           "neck_dystonia", "benefits"}


def parse(intent, confidence=0.9, **extra):
    return {"text": "", "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}], "entities": [],
            **extra}


def run(whole, *parts, background=False):
    return combine(whole, [(f"part {i}", p) for i, p in enumerate(parts)], background, ANSWERS)


def test_two_answered_parts_give_both_answers_in_order():
    whole = parse("ask_duration_of_effect", entities=[{"entity": "condition"}])
    result = run(whole, parse("ask_safety", 0.8), parse("ask_duration_of_effect"))
    assert result["intent"] == {"name": "ask_safety", "confidence": 0.8}
    assert result[PARTS_KEY] == ["safety", "duration_of_effect"]
    assert result["entities"] == whole["entities"]  # the whole message's entities stay


def test_an_emergency_in_any_part_wins():
    result = run(parse("ask_pain"), parse("ask_pain"), parse("emergency", 1.0))
    assert result["intent"]["name"] == "emergency"
    assert PARTS_KEY not in result


def test_the_whole_messages_emergency_is_kept():
    whole = parse("emergency", 1.0)
    assert run(whole, parse("ask_pain"), parse("ask_safety")) is whole


@pytest.mark.parametrize("guard", ["ask_dose", "out_of_scope", "request_human"])
def test_guarded_replies_are_never_replaced_by_a_part(guard):
    whole = parse(guard)
    assert run(whole, parse("ask_pain"), parse("ask_safety")) is whole


def test_the_question_after_background_decides():
    result = run(parse("nlu_fallback", 0.5), parse("ask_what_is_botox"), background=True)
    assert result["intent"]["name"] == "ask_what_is_botox"
    assert PARTS_KEY not in result


def test_a_hesitating_part_leaves_the_whole_message_alone():
    whole = parse("ask_pain")
    assert run(whole, parse("nlu_fallback", 0.3), parse("ask_pain")) is whole


def test_the_question_after_background_beats_an_answered_whole_message():
    result = run(parse("ask_candidates"), parse("ask_what_is_botox"), background=True)
    assert result["intent"]["name"] == "ask_what_is_botox"


def test_background_naming_the_condition_of_a_general_question_keeps_its_answer():
    whole = parse("ask_neck_dystonia")
    result = combine(whole, [("would botox help me?", parse("ask_benefits"))], True, ANSWERS,
                     condition_answers={"neck_dystonia"}, general_questions={"benefits"})
    assert result is whole
