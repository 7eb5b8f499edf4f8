from quals_hf import QAPair, answer_in_summary, select_pairs


def _pairs(*rows):
    return [QAPair(q, a, s) for q, a, s in rows]


def test_filter_is_case_insensitive_substring():
    summary = "Maria Lopez opened a school in Oslo ."
    assert answer_in_summary("maria lopez", summary)
    assert answer_in_summary("OSLO", summary)
    assert not answer_in_summary("bergen", summary)


def test_round_robin_over_answers_in_order_of_first_appearance():
    got = select_pairs(
        _pairs(
            ("q1", "maria", -0.1),
            ("q2", "maria", -0.2),
            ("q3", "oslo", -0.3),
            ("q4", "maria", -0.4),
            ("q5", "120", -0.5),
            ("q6", "oslo", -0.6),
        )
    )
    assert [(p.question, p.answer) for p in got] == [
        ("q1", "maria"),
        ("q3", "oslo"),
        ("q5", "120"),
        ("q2", "maria"),
        ("q6", "oslo"),
        ("q4", "maria"),
    ]


def test_ranked_by_search_score_not_input_order():
    got = select_pairs(_pairs(("late", "a", -3.0), ("early", "b", -1.0), ("mid", "a", -2.0)))
    assert [p.question for p in got] == ["early", "mid", "late"]


def test_answers_group_ignoring_case_and_duplicate_questions_are_skipped():
    got = select_pairs(
        _pairs(
            ("Who won ?", "Maria", -0.1),
            ("who won ?", "maria", -0.2),
            ("who lost ?", "MARIA", -0.3),
            ("where ?", "oslo", -0.4),
        )
    )
    assert [(p.question, p.answer) for p in got] == [
        ("Who won ?", "Maria"),
        ("where ?", "oslo"),
        ("who lost ?", "MARIA"),
    ]


def test_cap_is_exact_even_mid_round():
    rows = [(f"q{i}", f"a{i % 7}", -i / 10) for i in range(30)]
    got = select_pairs(_pairs(*rows), max_pairs=10)
    assert len(got) == 10
    # first round: the 7 answers; second round: the next 3 of them
    assert [p.answer for p in got] == [f"a{i}" for i in range(7)] + ["a0", "a1", "a2"]


def test_no_candidates_gives_no_pairs():
    assert select_pairs([]) == []


def test_prefer_well_formed_takes_flawed_pairs_only_to_fill_up():
    rows = (
        ("Who won?", "maria", -0.1),
        ("Where is maria?", "maria", -0.2),  # its answer is in its question
        ("Where?", "oslo", -0.3),
        ("What opened", "a school", -0.4),  # no question mark
        ("How many?", "120", -0.5),
    )
    assert [p.question for p in select_pairs(_pairs(*rows), max_pairs=3)] == [
        "Who won?",
        "Where?",
        "What opened",
    ]
    preferred = select_pairs(_pairs(*rows), max_pairs=3, prefer_well_formed=True)
    assert [p.question for p in preferred] == ["Who won?", "Where?", "How many?"]
    filled = select_pairs(_pairs(*rows), max_pairs=5, prefer_well_formed=True)
    assert [p.question for p in filled] == [
        "Who won?",
        "Where?",
        "How many?",
        "Where is maria?",
        "What opened",
    ]


def test_prefer_well_formed_does_not_take_a_pair_twice():
    """A cut and a finished copy of one pair (multi-pair formats mark every pair of a cut
    hypothesis as cut) are one pair, as in the paper's selection."""
    cut = QAPair("Who won?", "Maria", -0.1, cut=True)
    rows = [cut, QAPair("who won?", "maria", -0.2), QAPair("Where?", "Oslo", -0.3)]
    paper = select_pairs(rows, max_pairs=3)
    preferred = select_pairs(rows, max_pairs=3, prefer_well_formed=True)
    assert len(paper) == len(preferred) == 2
    assert [p.question for p in preferred] == ["who won?", "Where?"]
