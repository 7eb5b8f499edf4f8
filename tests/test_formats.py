import pytest

from quals_hf import PRESETS, QAGenFormat


def test_qagen_parse_keeps_exactly_two_nonempty_parts():
    fmt = PRESETS["qagen"]
    assert fmt.parse("who won ? <sep> maria lopez") == [("who won ?", "maria lopez")]
    assert fmt.parse("  who won ?<sep>maria  ") == [("who won ?", "maria")]
    assert fmt.parse("who won ? maria lopez") == []  # no separator
    assert fmt.parse("who won ? <sep> ") == []  # empty answer
    assert fmt.parse(" <sep> maria") == []  # empty question
    assert fmt.parse("who ? <sep> maria <sep> lopez") == []  # three parts


def test_lmqg_parses_several_pairs_and_renders_each():
    fmt = PRESETS["lmqg"]
    text = "question: who won?, answer: maria | question: where?, answer: oslo | garbage"
    assert fmt.parse(text) == [("who won?", "maria"), ("where?", "oslo")]
    assert fmt.render_pair("who won?", "maria") == "question: who won?, answer: maria"
    assert fmt.render_input("a text") == "generate question and answer: a text"
    assert fmt.separator == ", answer:"


def test_answer_first_template_and_dict_round_trip():
    fmt = QAGenFormat("custom", template="{answer} [Q] {question}")
    assert fmt.answer_first
    assert fmt.parse("oslo [Q] where is it ?") == [("where is it ?", "oslo")]
    assert QAGenFormat.resolve(fmt.to_dict()) == fmt
    assert QAGenFormat.resolve("t5-sep").render_pair("q ?", "a") == "q ? <sep> a"


@pytest.mark.parametrize("template", ["{question} only", "{question}{answer}", "{q} <sep> {a}"])
def test_bad_templates_are_rejected(template):
    with pytest.raises(ValueError, match="template"):
        QAGenFormat("bad", template=template)


def test_unknown_preset_names_the_presets():
    with pytest.raises(ValueError, match="lmqg"):
        QAGenFormat.resolve("nope")
