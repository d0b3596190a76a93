"""The ACP translator's pure parts (hermesd/serve/acp/prompt.py): URIs to attachments, the message's pieces,
the model option's values. The SDK client drives the whole path in tests/test_acp_e2e.py."""

from __future__ import annotations

import pytest

pytest.importorskip("acp")

from acp.exceptions import RequestError  # noqa: E402

from hermesd.serve.acp import prompt  # noqa: E402


def test_a_file_uri_is_a_file_attachment_and_one_naming_lines_is_a_selection():
    whole = prompt.attachment("file:///work/my%20app/main.py", "x = 1\n")
    assert (whole.kind, whole.path, whole.range) == ("file", "/work/my app/main.py", None)
    for fragment, (first, last) in (("L10:20", (9, 19)), ("L10-20", (9, 19)), ("L10-L20", (9, 19)), ("L7", (6, 6))):
        part = prompt.attachment(f"file:///work/main.py#{fragment}", "x = 1\n")
        assert (part.kind, part.path) == ("selection", "/work/main.py")
        assert (part.range.start.line, part.range.end.line) == (first, last)
    other = prompt.attachment("zed://selection/42", "text")
    assert (other.kind, other.path) == ("file", "zed://selection/42")  # named by its URI; the name rules still apply


def test_pieces_are_joined_with_a_space_only_where_they_would_run_together():
    assert prompt.join(["Explain", "@main.py", "and", "@util.py"]) == "Explain @main.py and @util.py"
    assert prompt.join(["Explain ", "@main.py", " please\n", "@b"]) == "Explain @main.py please\n@b"
    assert prompt.join(["", "x", ""]) == "x"


def test_model_values_split_at_the_first_slash_and_a_bad_one_is_a_clear_error():
    assert prompt.split_model("openrouter/openrouter/pareto-code") == ("openrouter", "openrouter/pareto-code")
    assert prompt.split_model("custom/qwen3:8b") == ("custom", "qwen3:8b")
    for bad in ("nonsense", "/model", "provider/"):
        with pytest.raises(RequestError) as refused:
            prompt.split_model(bad)
        assert "is not a model of this option" in str(refused.value)


def test_the_score_option_keeps_a_floor_that_is_not_one_of_its_steps():
    option = prompt.score_option(0.72, "routes…")
    assert option.current_value == "0.72"
    assert [o.value for o in option.options] == ["none", "0.5", "0.6", "0.65", "0.7", "0.72", "0.8", "0.9"]
    assert prompt.score_option(None, "").current_value == "none"
    assert prompt.score_option("junk", "").current_value == "none"  # a hand edit Hermes reads as no floor
