from __future__ import annotations

from paperfeed.core.text import about, counted, per, quoted, sentence


def test_quoted_keeps_a_phrase_own_quotes() -> None:
    assert quoted("diffusion") == "“diffusion”"
    assert quoted('"state space"') == '"state space"'  # not “"state space"”
    assert quoted('"') == '“"”'  # a lone quote is not a quoted phrase


def test_quoted_is_one_line_and_cut() -> None:
    assert quoted("a\n  b") == "“a b”"
    assert quoted("x" * 41) == f"“{'x' * 40}…”"
    assert quoted('"' + "y" * 50 + '"') == f'“"{"y" * 39}…”'  # a cut phrase loses its closing quote
    assert quoted("z" * 50, 60) == f"“{'z' * 50}”"


def test_counted_says_one_thing_and_many_things() -> None:
    assert counted(1, "paper") == "1 paper"  # command output said "1 papers" or "1 paper(s)"
    assert counted(0, "paper") == "0 papers"
    assert counted(2, "open report") == "2 open reports"
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"
    assert counted(74_728, "row") == "74,728 rows"


def test_about_says_a_wait_as_a_reader_plans_by() -> None:
    assert about(1) == about(60) == "about a minute"
    assert about(61) == "about 2 minutes"  # rounded up under the hour and a half: never too early
    assert about(2700) == "about 45 minutes"
    assert about(89 * 60) == "about 89 minutes"
    assert about(90 * 60) == "about 2 hours"
    assert about(9900) == "about 3 hours"  # 2 h 45 min: /subscribe's address limit, said "later"
    assert about(12 * 3600) == "about 12 hours"


def test_sentence_capitalises_and_ends_once() -> None:
    said = "too many requests (comments: 10 per 5 minutes); try again in about 5 minutes"
    assert sentence(said) == "Too many requests (comments: 10 per 5 minutes); try again in about 5 minutes."
    assert sentence(" log in to vote ") == "Log in to vote."
    assert sentence("Done already.") == "Done already." and sentence("Really?") == "Really?"
    assert sentence("") == sentence("  ") == ""


def test_per_says_a_limits_window_as_its_figure_is_read() -> None:
    assert (per(60), per(3600), per(86_400)) == ("a minute", "an hour", "a day")
    assert (per(300), per(6 * 3600), per(2 * 86_400)) == ("per 5 minutes", "per 6 hours", "per 2 days")
    assert per(90) == "per 90 seconds"  # not a whole number of minutes
