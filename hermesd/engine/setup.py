"""``hermesd setup``: from nothing to a working chat in one command.

``setup local`` finds a model server on this machine (Ollama, LM Studio,
llama.cpp, vLLM) by asking each usual port what it serves, or takes the URL
it is given; ``setup openrouter`` uses the key already in the environment or
``.env`` and asks only when there is none. Both write provider, base URL and
model in one atomic config write, then send one short test chat.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# The usual ports, in the order they are tried. 8080 is also code-server's
# default: a server there that does not answer like a model server is skipped.
DEFAULT_PORTS = (11434, 1234, 8080, 8000)
PORTS_ENV = "HERMESD_LOCAL_PORTS"  # "11434,1234": ports `setup local` tries instead
DETECT_TIMEOUT = 2.0
TEST_PROMPT = "Say hello in one short sentence."
TEST_MAX_TOKENS = 32


class SetupError(Exception):
    """Setup cannot continue; the message says what was tried and what to do."""


@dataclass
class Server:
    """A model server that answered, and what it serves."""

    kind: str  # "Ollama", "LM Studio", "vLLM", "llama.cpp" or "OpenAI-compatible server"
    base_url: str  # the OpenAI-compatible base (ends in /v1 for the known servers)
    models: list[str] = field(default_factory=list)


# -- detection -----------------------------------------------------------


def ports_to_try(option: list[int] | None = None) -> list[int]:
    """``--port`` options, else ``$HERMESD_LOCAL_PORTS``, else the usual ports."""
    if option:
        return list(option)
    raw = os.environ.get(PORTS_ENV, "").strip()
    if not raw:
        return list(DEFAULT_PORTS)
    try:
        return [int(p) for p in raw.replace(" ", "").split(",") if p]
    except ValueError:
        raise SetupError(f"{PORTS_ENV} must be comma-separated port numbers (got {raw!r})") from None


def _get_json(client: Any, url: str) -> Any:
    """The JSON body of a 200 answer, else None (refused, redirected to a login page, not JSON)."""
    try:
        response = client.get(url)
        return response.json() if response.status_code == 200 else None
    except Exception:  # noqa: BLE001 - any failure means "not a model server here"
        return None


def _openai_ids(payload: Any) -> list[str] | None:
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return None
    return [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str) and i["id"]]


def identify(client: Any, root: str) -> Server | None:
    """What answers at ``root`` (scheme://host:port), by the endpoints each server has."""
    tags = _get_json(client, f"{root}/api/tags")
    if isinstance(tags, dict) and isinstance(tags.get("models"), list):
        names = [m.get("model") or m.get("name") for m in tags["models"] if isinstance(m, dict)]
        return Server("Ollama", f"{root}/v1", [n for n in names if isinstance(n, str) and n])
    payload = _get_json(client, f"{root}/v1/models")
    ids = _openai_ids(payload)
    if ids is None:
        return None
    owners = {i.get("owned_by") for i in payload["data"] if isinstance(i, dict)}
    if "vllm" in owners:
        kind = "vLLM"
    elif _openai_ids(_get_json(client, f"{root}/api/v0/models")) is not None:
        kind = "LM Studio"
    elif "llamacpp" in owners or isinstance(_get_json(client, f"{root}/props"), dict):
        kind = "llama.cpp"
    else:
        kind = "OpenAI-compatible server"
    return Server(kind, f"{root}/v1", ids)


def detect(ports: list[int], host: str = "127.0.0.1") -> list[Server]:
    """Every model server answering on ``host`` at one of ``ports``, in port order."""
    import httpx

    with httpx.Client(timeout=DETECT_TIMEOUT, follow_redirects=False) as client:
        found = [identify(client, f"http://{host}:{port}") for port in ports]
    return [s for s in found if s is not None]


def at_url(url: str) -> Server:
    """The server at a URL the user gave: a bare ``host:port`` is identified, a path is the base URL."""
    import httpx

    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = f"http://{url}"
    parts = urlsplit(url)
    with httpx.Client(timeout=DETECT_TIMEOUT, follow_redirects=False) as client:
        if parts.path in ("", "/"):
            server = identify(client, url)
            if server is None:
                raise SetupError(f"nothing at {url} answered like a model server ({url}/api/tags, {url}/v1/models)")
            return server
        ids = _openai_ids(_get_json(client, f"{url}/models"))
        if ids is None:
            raise SetupError(f"{url}/models did not answer with a model list; is the base URL right (often it ends in /v1)?")
        return Server("OpenAI-compatible server", url, ids)


# -- writing and testing ---------------------------------------------------


def write(provider: str, model: str, base_url: str | None = None) -> None:
    """Provider, base URL and model in one atomic write. The previous provider's
    base URL and forced API shape would be wrong for this one: they are removed."""
    from hermesd.settings import config

    values = {"model.provider": provider, "model.default": model}
    if base_url:
        config.set_values({**values, "model.base_url": base_url}, unset=("model.api_mode",))
    else:
        config.set_values(values, unset=("model.base_url", "model.api_mode"))


def test_chat(provider: str, model: str) -> str:
    """One short chat through the configured endpoint: the reply's text, or HermesError."""
    from hermesd.settings import config
    from hermesd.engine.runtime import resolve
    from hermesd.transports import Delta, NetworkSettings, open_stream
    from hermesd.wire import ChatOptions
    from hermesd.wire.dispatch import build_request

    cfg = config.load()
    resolved = resolve(cfg, provider=provider, model=model)
    prepared = build_request(resolved, [{"role": "user", "content": TEST_PROMPT}], ChatOptions(max_tokens=TEST_MAX_TOKENS))
    net = NetworkSettings.of(cfg)

    async def run() -> str:
        return "".join([e.text async for e in open_stream(prepared, resolved, net) if isinstance(e, Delta)])

    return asyncio.run(run())


def save_key(name: str, value: str) -> None:
    """Append or replace ``name`` in ``$HERMES_HOME/.env`` (0600, atomic)."""
    from hermesd.settings.config import _atomic_write, _locked
    from hermesd.paths import env_path

    path = env_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        kept = [line for line in lines if line.split("=", 1)[0].strip().removeprefix("export ").strip() != name]
        _atomic_write(path, "\n".join(kept + [f"{name}={value}"]) + "\n")


def openrouter_key(ask: bool) -> str:
    """The variable holding an OpenRouter key; prompts (and saves to .env) only when none is set."""
    from hermesd.settings import credentials

    var, _ = credentials.find_key(("OPENROUTER_API_KEY",))
    if var:
        return var
    if not ask:
        raise SetupError("no OPENROUTER_API_KEY in the environment or .env; set it (https://openrouter.ai/keys) and run this again")
    import getpass

    value = getpass.getpass("OpenRouter API key (https://openrouter.ai/keys): ").strip()
    if not credentials.is_usable(value):
        raise SetupError("that does not look like a key; nothing was written")
    save_key("OPENROUTER_API_KEY", value)
    return "OPENROUTER_API_KEY"


def can_ask() -> bool:
    """Whether a person can be prompted for a key (stdin is a terminal)."""
    return sys.stdin.isatty()


# -- the command -----------------------------------------------------------


def command(args: Any) -> int:
    """``hermesd setup local|openrouter``: 0 when configured and the test chat answered, else 1."""
    from hermesd.engine.errors import HermesError

    report: dict[str, Any] = {}
    say = (lambda text: None) if args.json else print
    try:
        if args.target == "local":
            server = _choose_server(args, say)
            model = args.model or (server.models[0] if server.models else "")
            if not model:
                raise SetupError(f"the {server.kind} at {server.base_url} serves no model yet; load one "
                                 "(for Ollama: `ollama pull llama3.2`), or name it with --model")
            provider, base_url = "custom", server.base_url
            report.update(server=server.kind, models=server.models)
        else:
            report["keyEnvVar"] = openrouter_key(ask=can_ask())
            provider, base_url, model = "openrouter", None, args.model
        write(provider, model, base_url)
    except SetupError as exc:
        print(f"hermesd: {exc}", file=sys.stderr)
        return 1
    from hermesd.settings import config

    report.update(provider=provider, model=model, baseUrl=base_url or "", config=str(config.load().path))
    say(f"wrote {report['config']}: model.provider = {provider}, model.default = {model}"
        + (f", model.base_url = {base_url}" if base_url else ""))
    status = 0
    if not args.no_test:
        try:
            text = test_chat(provider, model)
            report["test"] = {"ok": True, "text": text}
            say(f"test chat ({model}): {text.strip()}")
        except HermesError as exc:
            report["test"] = {"ok": False, "error": exc.to_dict()}
            print(f"hermesd: the test chat failed: {exc.message}" + (f"\n  -> {exc.hint}" if exc.hint else ""),
                  file=sys.stderr)
            status = 1
    if args.target == "local":
        offer_completion(server, base_url, report, say, ask=not args.json and can_ask())
    if args.json:
        import json

        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif status == 0:
        print("ready: `hermesd chat \"hello\"`, or pick it in your editor")
    return status


def code_model(server: Server) -> str | None:
    """The first model the server serves that has FIM tokens hermesd knows (inline completion), or None."""
    from hermesd.engine.completion.templates import family_of

    return next((m for m in server.models if family_of(m) is not None), None)


def offer_completion(server: Server, base_url: str, report: dict[str, Any], say: Any, ask: bool) -> None:
    """When the server serves a code model and completion is off: offer it (asked at a terminal, else a hint)."""
    from hermesd.settings import config

    model = code_model(server)
    if model is None or config.load().get("completion.model"):
        return
    report["completionModel"] = model
    values = {"completion.provider": "custom", "completion.base_url": base_url, "completion.model": model}
    if ask and input(f"{model} is a code model: use it for inline completion (ghost text) in your editors? [y/N] "
                     ).strip().lower() in ("y", "yes"):
        config.set_values(values)
        report["completion"] = True
        say(f"completion on: completion.model = {model} (docs/completion.md)")
        return
    say(f"inline completion: {model} is a code model; to use it: "
        + "; ".join(f"`hermesd config set {k} {v}`" for k, v in values.items()))


def _choose_server(args: Any, say: Any) -> Server:
    if args.url:
        server = at_url(args.url)
    else:
        ports = ports_to_try(args.port)
        found = detect(ports)
        if not found:
            raise SetupError(
                f"no model server answered on 127.0.0.1 port{'s' if len(ports) > 1 else ''} {', '.join(map(str, ports))} "
                "(asked /api/tags and /v1/models); start one (`ollama serve`, LM Studio's local server, "
                "`llama-server`, `vllm serve`) or give its address: `hermesd setup local http://HOST:PORT`"
            )
        for other in found[1:]:
            say(f"also found: {other.kind} at {other.base_url} (pass its URL to use it instead)")
        server = found[0]
    listed = ", ".join(server.models[:5]) + (" ..." if len(server.models) > 5 else "")
    say(f"found {server.kind} at {server.base_url}" + (f" serving {listed}" if listed else ""))
    return server
