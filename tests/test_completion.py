"""Inline completion's pure parts: templates, the hole, request planning, post-processing, refusals."""

from __future__ import annotations

import pytest

from hermesd.engine.completion import postprocess, templates
from hermesd.engine.completion import requests as fim
from hermesd.engine.completion.context import Hole, cut
from hermesd.engine.completion.service import Completions, opted_in, path_refusal
from hermesd.engine.completion.settings import CompletionSettings
from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from providers.base import ProviderProfile


def _resolved(base_url: str = "http://127.0.0.1:8080/v1", model: str = "qwen2.5-coder:7b", api_key: str | None = None,
              profile: ProviderProfile | None = None, api_mode: str = "chat_completions") -> Resolved:
    return Resolved(provider=profile.name if profile else "custom", profile=profile, model=model, base_url=base_url,
                    api_mode=api_mode, api_key=api_key, key_env_var=None)


# -- templates ----------------------------------------------------------------------


@pytest.mark.parametrize("model,family", [
    ("Qwen/Qwen2.5-Coder-1.5B", "qwen-coder"), ("qwen3-coder:30b", "qwen-coder"), ("codestral-latest", "codestral"),
    ("deepseek-coder:6.7b-base", "deepseek-coder"), ("codellama/CodeLlama-7b-hf", "codellama"),
    ("codegemma:2b-code", "codegemma"), ("bigcode/starcoder2-15b", "starcoder"), ("stable-code:3b", "starcoder"),
    ("granite-3b-code-base", "starcoder"), ("smollm2", None), ("gpt-4.1", None), ("qwen2.5:7b", None),
])
def test_family_from_the_model_id(model: str, family: str | None) -> None:
    found = templates.family_of(model)
    assert (found.name if found else None) == family


def test_render_places_text_verbatim_braces_included() -> None:
    rendered = templates.BY_NAME["starcoder"].render("f'{x}' {suffix}", "{prefix}}")
    assert rendered == "<fim_prefix>f'{x}' {suffix}<fim_suffix>{prefix}}<fim_middle>"


def test_configured_template_and_custom_ones() -> None:
    assert templates.choose("smollm2", "codellama")[0] is templates.BY_NAME["codellama"]
    assert templates.choose("qwen2.5-coder", "server")[0] is None
    custom = {"mine": {"layout": "<A>{prefix}<B>{suffix}<C>", "stop": ["<A>"]}}
    mine, why = templates.choose("anything", "mine", custom)
    assert mine.render("p", "s") == "<A>p<B>s<C>" and mine.stop == ("<A>",) and why == "completion.templates.mine"
    with pytest.raises(ValueError, match="known: qwen-coder, .*mine, server"):
        templates.choose("x", "nope", custom)
    with pytest.raises(ValueError, match=r"layout must be a string holding \{prefix\} and \{suffix\}"):
        templates.choose("x", "bad", {"bad": {"layout": "{prefix} only"}})


# -- the hole -----------------------------------------------------------------------


def test_the_hole_is_cut_at_line_boundaries() -> None:
    text = "line one\nline two\ncursor| here\nline four\nline five\n"
    offset = text.index("|")
    hole = cut(text, offset, prefix_chars=14, suffix_chars=12)
    assert hole.prefix == "cursor"  # "two\n" would be half a line
    assert hole.suffix == "| here\n"
    whole = cut(text, offset, 1000, 1000)
    assert whole.prefix + whole.suffix == text


# -- planning -----------------------------------------------------------------------


def test_endpoint_choice() -> None:
    s = CompletionSettings(provider="custom", model="x")
    assert fim.plan(_resolved(), s).endpoint == "completions"
    assert fim.plan(_resolved(model="smollm2"), s).endpoint == "chat"  # no FIM tokens: hole-filler
    assert fim.plan(_resolved(model="smollm2"), CompletionSettings(template="server")).endpoint == "completions"
    mistral = fim.plan(_resolved("https://api.mistral.ai/v1", "codestral-latest", "k"), s)
    assert (mistral.endpoint, mistral.template, mistral.url) == ("fim", None, "https://api.mistral.ai/v1")
    deepseek = fim.plan(_resolved("https://api.deepseek.com/v1", "deepseek-chat", "k"), s)
    assert (deepseek.endpoint, deepseek.template, deepseek.url) == ("completions", None, "https://api.deepseek.com/beta")
    assert fim.build(deepseek, Hole("a", "b")).url == "https://api.deepseek.com/beta/completions"
    assert fim.plan(_resolved("https://api.anthropic.com", "claude-sonnet-4.5", "k", api_mode="anthropic_messages"),
                    s).endpoint == "chat"
    assert fim.plan(_resolved(), CompletionSettings(endpoint="infill")).endpoint == "infill"


def test_a_plugin_declares_its_fim_endpoint_on_its_own_host_only() -> None:
    class Acme(ProviderProfile):
        fim_endpoint = "fim"
        fim_base_url = "https://api.acme.test/fim/v1"

    p = fim.plan(_resolved("https://api.acme.test/v1", "acme-code", "k", Acme(name="acme")), CompletionSettings())
    assert (p.endpoint, p.url) == ("fim", "https://api.acme.test/fim/v1")
    assert p.endpoint_reason == "the acme plugin declares fim_endpoint: fim"

    class Elsewhere(ProviderProfile):
        fim_base_url = "https://collector.example/v1"

    p = fim.plan(_resolved("https://api.acme.test/v1", "acme-coder-qwen", "k", Elsewhere(name="x")), CompletionSettings())
    assert p.url == "https://api.acme.test/v1"  # the key never goes to another host


def test_a_bad_template_name_is_a_config_error() -> None:
    with pytest.raises(HermesError, match="completion.template 'nope' is not a known template"):
        fim.plan(_resolved(), CompletionSettings(template="nope"))


def test_request_headers_carry_the_key_for_its_own_provider() -> None:
    p = fim.plan(_resolved("https://api.mistral.ai/v1", "codestral-latest", "sk-secret"), CompletionSettings(max_tokens=8))
    prepared = fim.build(p, Hole("def ", ":"))
    assert prepared.headers["Authorization"] == "Bearer sk-secret"
    assert "sk-secret" not in str(prepared.preview())


# -- post-processing ------------------------------------------------------------------


@pytest.mark.parametrize("text,prefix,suffix,multiline,expected", [
    ("a, b)", "foo(", ")\n", True, "a, b"),  # the bracket already after the cursor
    ("x = 1", "y = ", "1)\n", True, "x = 1"),  # one shared character is no overlap
    ("    return 1\n    x = 2\nprint(3)", "def f():\n", "\nprint(3)\n", True, "    return 1\n    x = 2"),  # block end
    ("return 1\n    y = 2", "def f():\n    ", "\n", False, "return 1"),  # one line only
    ("1)\nmore", "f(", ")", True, "1"),  # mid-line: the rest of the line only
    ("   \n\t", "x", "", True, None),  # whitespace only: no suggestion
    ("ok<|endoftext|>junk", "", "", True, "ok"),
])
def test_clean(text: str, prefix: str, suffix: str, multiline: bool, expected: str | None) -> None:
    stops = templates.BY_NAME["qwen-coder"].stop
    assert postprocess.clean(text, Hole(prefix, suffix), multiline=multiline, stops=stops) == expected


def test_chat_replies_lose_their_wrapping() -> None:
    assert postprocess.clean("Here:\n<COMPLETION>x + 1</COMPLETION>", Hole("y = ", ""), multiline=True, chat=True) == "x + 1"
    assert postprocess.clean("```python\nx + 1\n```", Hole("y = ", ""), multiline=True, chat=True) == "x + 1"


def test_complete_enough_stops_reading_early() -> None:
    hole = Hole("def f():\n    ", "\n")
    assert not postprocess.complete_enough("return", hole, multiline=False)
    assert postprocess.complete_enough("return 1\n", hole, multiline=False)
    assert not postprocess.complete_enough("return 1\n    x = 2\n", hole, multiline=True)
    assert postprocess.complete_enough("return 1\nprint()\n", hole, multiline=True)  # left the block


# -- refusals -----------------------------------------------------------------------


def test_hosted_providers_need_the_workspace_opted_in(tmp_path) -> None:
    hosted = fim.plan(_resolved("https://api.mistral.ai/v1", "codestral-latest", "k"), CompletionSettings())
    source = tmp_path / "proj" / "a.py"
    source.parent.mkdir()
    source.write_text("x")
    assert "completion.hosted_workspaces" in path_refusal(hosted, str(source))
    opted = fim.plan(hosted.resolved, CompletionSettings(hosted_workspaces=(str(tmp_path / "proj"),)))
    assert path_refusal(opted, str(source)) is None
    assert opted_in("/anywhere/x.py", CompletionSettings(hosted_workspaces=("*",)))
    assert not opted_in(str(tmp_path / "projector" / "a.py"), opted.settings)  # a sibling with the same start
    local = fim.plan(_resolved(), CompletionSettings())
    assert path_refusal(local, str(source)) is None
    assert "named like a secrets file" in path_refusal(local, str(tmp_path / "proj" / ".env"))


async def test_burst_debounce_grows_only_while_requests_supersede_each_other() -> None:
    import asyncio
    import time

    c = Completions()
    assert not c._supersede("u")
    assert c._debounce("u", burst=False, invoked=False, floor=0.0) == 0.0
    assert c._debounce("u", burst=False, invoked=False, floor=0.01) == 0.01  # the last one was answered: no burst
    pending = c._inflight["u"] = asyncio.ensure_future(asyncio.sleep(10))
    assert c._supersede("u")
    await asyncio.sleep(0)
    assert pending.cancelled() and pending in c._superseded
    c._last_request["u"] = time.monotonic() - 0.06  # a keystroke 60 ms after the last, which is unanswered
    wait = c._debounce("u", burst=True, invoked=False, floor=0.0)
    assert 0.085 <= wait <= 0.1  # 1.5 x the typing interval
    assert c._debounce("u", burst=True, invoked=True, floor=0.0) == 0.0  # asked for explicitly: at once


def test_the_profile_attributes_are_not_contract_fields_and_are_accepted_as_keywords() -> None:
    import dataclasses

    assert "fim_endpoint" not in {f.name for f in dataclasses.fields(ProviderProfile)}
    profile = ProviderProfile(name="acme", fim_endpoint="infill", fim_base_url="https://a.test/v1")
    assert (profile.fim_endpoint, profile.fim_base_url) == ("infill", "https://a.test/v1")
    from providers.base import newer_fields

    assert newer_fields(profile) == {}  # not "kept, not used"
    assert ProviderProfile(name="plain").fim_endpoint == ""


async def test_the_cache_survives_the_same_plan_read_again_and_not_another_model(monkeypatch) -> None:
    from hermesd.engine.completion import service

    plans = [fim.plan(_resolved(), CompletionSettings(provider="custom", model="qwen2.5-coder:7b"))]
    monkeypatch.setattr(service, "current_plan", lambda: plans[-1])
    c = Completions()
    c._plan = plans[0]
    c._remember("u", service._Entry("x = ", "\n", "foo()"))
    plans.append(fim.plan(_resolved(), CompletionSettings(provider="custom", model="qwen2.5-coder:7b")))  # equal, new
    assert (await c.complete("u", "x = f\n", 5)).text == "oo()"
    plans.append(fim.plan(_resolved(model="starcoder2"), CompletionSettings(provider="custom", model="starcoder2")))
    c._plan = plans[1]
    assert c._cached("u", Hole("x = f", "\n")) == "oo()"
    monkeypatch.setattr(Completions, "_ask", lambda *a: _none())
    monkeypatch.setattr(Completions, "_refused", lambda *a: _none())
    assert await c.complete("u", "x = f\n", 5) is None  # another model: the old answer is gone
    assert c._cached("u", Hole("x = f", "\n")) is None


async def _none() -> None:
    return None


def test_settings_from_config(tmp_path) -> None:
    import yaml

    from hermesd.engine.completion.settings import of
    from hermesd.settings import config

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"completion": {
        "provider": "custom", "model": "m", "languages": {"*": False, "python": True},
        "hosted_workspaces": {"/src/a": True, "/src/b": False}, "multiline": False}}))
    s = of(config.load(path))
    assert s.enabled and not s.multiline and s.hosted_workspaces == ("/src/a",)
    assert s.language_enabled("python") and not s.language_enabled("markdown")
    assert CompletionSettings(languages={"markdown": False}).language_enabled("go")
    assert not of(config.load(tmp_path / "none.yaml")).enabled  # off until both are set
