"""The ``hermesd`` command: the daemon for editors, and the same features for people.

``hermesd`` / ``hermesd --stdio`` serves an editor over stdio through the
user's shared daemon (``--no-shared``: in this process); ``--tcp`` serves
127.0.0.1 with a token. The subcommands (doctor, providers, models,
chat, config, sessions) run the daemon's own modules in-process: human
output by default, ``--json`` for scripts.

Exit codes: see EXIT_CODES (printed by ``hermesd --help``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  success
  1  the operation failed (a chat error, a FAIL row in doctor, setup found no server)
  2  usage error (unknown command, provider or config key)
  3  invalid or unreadable config (config.yaml, a refused value)"""


def _parser() -> argparse.ArgumentParser:
    import argparse

    from hermesd import PROTOCOL_VERSION, __version__

    parser = argparse.ArgumentParser(prog="hermesd", description="One daemon for every editor to reach LLMs.",
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hermesd {__version__} (protocol {PROTOCOL_VERSION})")
    parser.add_argument("--stdio", action="store_true", help="serve an editor over stdin/stdout (the default)")
    parser.add_argument("--tcp", action="store_true", help="serve on 127.0.0.1 (needs the token file)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: pick a free one)")
    parser.add_argument("--no-shared", action="store_true",
                        help="serve this editor in this process instead of through the shared per-user daemon")
    parser.add_argument("--log-level", default="INFO", help="log level for the log file (default INFO)")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("doctor", help="check config, plugins, keys and provider reachability")
    p.add_argument("providers", nargs="*", help="only these providers")
    p.add_argument("--no-probe", action="store_true", help="do not contact providers")
    p.add_argument("--all", action="store_true", help="also list the providers nobody set up (no key, no local server)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("providers", help="list providers and whether a key is set")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("models", help="list a provider's models")
    p.add_argument("provider")
    p.add_argument("--refresh", action="store_true", help="skip the catalog cache")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("model", help="switch provider and model in one step, or list the picker's models",
                       description="With PROVIDER/MODEL (or PROVIDER MODEL): write both at once, as an editor's "
                                   "model picker does; refused, leaving config.yaml as it was, when the provider "
                                   "has no key yet. Without: the models every configured provider offers.")
    p.add_argument("choice", nargs="*", metavar="PROVIDER/MODEL", help="e.g. custom/qwen3:8b, openrouter/pareto-code")
    p.add_argument("--min-coding-score", help="Pareto Code's floor (0.0 to 1.0, or none)")
    p.add_argument("--session", metavar="ID", help="switch this conversation only (saved in its session; config.yaml "
                                                   "untouched); `hermesd sessions` lists them")
    p.add_argument("--default", action="store_true", help="with --session: the default for new chats too")
    p.add_argument("--refresh", action="store_true", help="skip the catalog caches when listing")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("chat", help="send one prompt and stream the reply to stdout")
    p.add_argument("prompt", help="the prompt; '-' reads it from stdin")
    p.add_argument("-p", "--provider")
    p.add_argument("-m", "--model")
    p.add_argument("-s", "--system")
    p.add_argument("--session", help="continue this session id (in the model chosen for it, if one was)")
    p.add_argument("-c", "--continue", dest="continue_", action="store_true",
                   help="continue the most recent conversation (in the model chosen for it, if one was)")
    p.add_argument("--preview", action="store_true", help="print the request that would be sent; send nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of streaming text")

    p = sub.add_parser("complete", help="inline completion at FILE:LINE:COL, as an editor would get it",
                       description="Complete the file at LINE:COL (1-based) with completion.provider and "
                                   "completion.model, and print the suggestion; --preview prints the exact request "
                                   "(secrets masked) and why its endpoint and template were chosen, sending nothing.")
    p.add_argument("position", metavar="FILE:LINE:COL")
    p.add_argument("--preview", action="store_true", help="print the request that would be sent; send nothing")

    p = sub.add_parser("config", help="read or change config.yaml")
    csub = p.add_subparsers(dest="action", required=True)
    g = csub.add_parser("get", help="print one key, or the whole effective config")
    g.add_argument("key", nargs="?")
    g.add_argument("--json", action="store_true")
    s = csub.add_parser("set", help="validate and write one key (VALUE is YAML: 0.5, null, text)")
    s.add_argument("key")
    s.add_argument("value")
    s.add_argument("--json", action="store_true")
    u = csub.add_parser("unset", help="remove a key so its default applies")
    u.add_argument("key")
    u.add_argument("--json", action="store_true")
    c = csub.add_parser("path", help="print the config file's path")
    c.add_argument("--json", action="store_true")

    p = sub.add_parser("setup", help="configure a provider in one step, then send a test chat")
    ssub = p.add_subparsers(dest="target", required=True)
    s = ssub.add_parser("local", help="use a model server on this machine (Ollama, LM Studio, llama.cpp, vLLM) or at URL")
    s.add_argument("url", nargs="?", help="the server's URL (http://host:port, or its base URL such as .../v1); default: detect")
    s.add_argument("--port", type=int, action="append",
                   help="a port to try instead of 11434, 1234, 8080, 8000 (repeatable; or HERMESD_LOCAL_PORTS=11434,1234)")
    s.add_argument("-m", "--model", help="the model to use (default: the first one the server serves)")
    s.add_argument("--no-test", action="store_true", help="do not send the test chat")
    s.add_argument("--json", action="store_true")
    s = ssub.add_parser("openrouter", help="use OpenRouter (asks for a key only if none is set)")
    s.add_argument("-m", "--model", default="openrouter/pareto-code", help="default: openrouter/pareto-code")
    s.add_argument("--no-test", action="store_true", help="do not send the test chat")
    s.add_argument("--json", action="store_true")

    p = sub.add_parser("plugins", help="manage provider plugins")
    psub = p.add_subparsers(dest="action", required=True)
    e = psub.add_parser("enable", help="run an installed package's plugin (entry points are opt-in: adds NAME to "
                        "plugins.enabled, as `hermes plugins enable` does), or load a plugin quarantined after it "
                        "crashed the daemon though its files are unchanged")
    e.add_argument("name", help="the plugin's name (doctor and `hermesd providers` list them), or its package's")

    p = sub.add_parser("sessions", help="list saved conversations")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``hermesd`` command; returns the exit status (EXIT_CODES).

    What editors run (no arguments, or ``--stdio``) is decided first, before
    argparse or any plugin import, so the relay starts on the standard library alone.
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv in ([], ["--stdio"]) and os.environ.get(SHARED_ENV) != "0":
        # What editors run: a frame relay to the shared daemon, importing the
        # standard library only (no argparse either: its gettext costs milliseconds).
        return _forward_or_serve("INFO")
    from hermesd.aliases import install

    install()  # before any plugin loads: `providers`, `hermes_cli`, `agent` are ours here
    if argv[:1] == ["--daemon"] and len(argv) == 4:  # started by a forwarder that cannot fork (Windows)
        from pathlib import Path

        return serve_daemon(Path(argv[1]), argv[2], int(argv[3]))
    if sorted(argv) in ([], ["--stdio"], ["--no-shared"], ["--no-shared", "--stdio"]):
        _setup_logging("INFO", to_stderr=False)
        return _serve_stdio()
    args = _parser().parse_args(argv)
    if args.command is None:
        if args.tcp:
            _setup_logging(args.log_level, to_stderr=False)
            return _serve_tcp(args.port)
        if args.no_shared or os.environ.get(SHARED_ENV) == "0":
            _setup_logging(args.log_level, to_stderr=False)
            return _serve_stdio()
        return _forward_or_serve(args.log_level)
    _setup_logging("WARNING", to_stderr=True)
    if args.command == "chat" and args.continue_:
        if args.session:
            print("hermesd: give --continue or --session ID, not both", file=sys.stderr)
            return EXIT_USAGE
        args.session = _latest_session()
        if not args.session:
            print("hermesd: no saved conversation to continue: start one with `hermesd chat PROMPT`", file=sys.stderr)
            return EXIT_USAGE
    if args.command == "chat" and (status := _chat_via_daemon(args)) is not None:
        return status
    handler = {
        "doctor": _doctor,
        "providers": _providers,
        "models": _models,
        "model": _model,
        "chat": _chat,
        "complete": _complete,
        "config": _config,
        "plugins": _plugins,
        "sessions": _sessions,
        "setup": _setup,
        "plugins": _plugins,
    }[args.command]
    from hermesd.settings.config import ConfigError, ConfigUnreadable, UnknownName

    try:
        return handler(args)
    except UnknownName as exc:
        print(f"hermesd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, ConfigUnreadable) as exc:
        print(f"hermesd: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except BrokenPipeError:  # an OSError too: caught first, it is not a storage failure
        return _reader_went_away()
    except OSError as exc:  # disk full, read-only: say which file, not a traceback
        print(f"hermesd: cannot write {exc.filename or 'a file'}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _complete(args: argparse.Namespace) -> int:
    """``hermesd complete [--preview] FILE:LINE:COL``: one inline completion, or the request it would send."""
    import asyncio
    from pathlib import Path

    from hermesd.engine.completion import context, service
    from hermesd.engine.errors import HermesError

    file, _, place = args.position.rpartition(":")
    file, _, line = file.rpartition(":")
    if not file or not line.isdigit() or not place.isdigit():
        print(f"hermesd: {args.position!r} is not FILE:LINE:COL (1-based, e.g. app.py:12:5)", file=sys.stderr)
        return EXIT_USAGE
    path = os.path.abspath(file)
    try:
        text = Path(path).read_text(encoding="utf-8")
        offset = context.offset_of(text, int(line), int(place))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"hermesd: {file}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.preview:
            _emit_json(service.preview(text, offset, path))
            return EXIT_OK
        suggestion = asyncio.run(service.complete_once(text, offset, path))
    except service.Unavailable as exc:
        print(f"hermesd: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except HermesError as exc:
        print(f"hermesd: {exc.message}" + (f"; {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return EXIT_FAILED
    if suggestion is None:
        print("hermesd: the model suggested nothing here", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(suggestion + "\n")
    return EXIT_OK


def _reader_went_away() -> int:
    """``hermesd ... | head``: the reader has what it wanted. No traceback, and no
    second error when Python flushes stdout at exit (the fd now points at /dev/null)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


# -- serving -------------------------------------------------------------


WARMUP_ENV = "HERMESD_WARMUP"
SHARED_ENV = "HERMESD_SHARED"  # "0": as --no-shared, for clients that cannot change the command line


def serve_daemon(base: Any, kind: str, ready_fd: int) -> int:
    """The shared daemon named ``base`` (hermesd.client.forwarder starts it); ``ready_fd`` -1: nobody waits."""
    from hermesd.serve import shared
    from hermesd.aliases import install

    install()
    _setup_logging("INFO", to_stderr=False)
    with _crash_record():
        return shared.serve(base, kind, ready_fd if ready_fd >= 0 else None)


def _forward_or_serve(log_level: str) -> int:
    """Relay to the shared daemon (docs/protocol.md); serve in-process when it cannot be reached or started."""
    from hermesd.client.forwarder import forward

    status = forward()
    if status >= 0:
        return status
    from hermesd.aliases import install

    install()
    _setup_logging(log_level, to_stderr=False)
    return _serve_stdio()


def _serve_stdio() -> int:
    from hermesd.client.forwarder import say_starting

    say_starting("in this process")  # pygls and the server's imports: seconds on a busy machine
    if os.environ.get(WARMUP_ENV) == "early":
        # Import the HTTP stack while pygls loads, instead of after
        # ``initialized``: the first chat is ready sooner, but the two imports
        # share one GIL, so ``initialize`` is answered later (docs/performance.md).
        threading.Thread(target=_early_warm_up, name="hermesd-early-warm-up", daemon=True).start()
    from hermesd.serve import stdio
    from hermesd.serve.server import create_server

    with _crash_record():
        stdio.serve(create_server())
    return EXIT_OK


@contextlib.contextmanager
def _crash_record() -> Iterator[None]:
    """While serving: a crash is recorded for the next daemon, which names the plugin (hermesd.serve.crash)."""
    from hermesd.paths import ensure_private_dir, log_dir
    from hermesd.serve import crash

    try:
        crash.arm(ensure_private_dir(log_dir()))
    except OSError:
        pass  # no log directory: serve without a record
    try:
        yield
    finally:
        crash.disarm()


def _early_warm_up() -> None:
    """The HTTP stack first: importing hermesd.serve.server here would only wait for
    the main thread, which is importing pygls for it."""
    import httpx  # noqa: F401
    import httpx_sse  # noqa: F401

    from hermesd.serve.warm_up import start_warm_up

    start_warm_up()


def _serve_tcp(port: int) -> int:
    from hermesd.serve import tcp

    with _crash_record():
        return tcp.serve(port)


def _setup_logging(level: str, *, to_stderr: bool) -> None:
    from hermesd.serve.logs import setup

    setup(level, to_stderr=to_stderr)


# -- subcommands -----------------------------------------------------------


def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _doctor(args: argparse.Namespace) -> int:
    import asyncio

    from hermesd.engine import doctor
    from hermesd.protocol import to_wire

    result = doctor.report(asyncio.run(doctor.run(only=args.providers or None, probe=not args.no_probe, everything=args.all)))
    if args.json:
        _emit_json(to_wire(result))
    else:
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
        for row in result.checks:
            who = f"{row.provider}: " if row.provider else ""
            print(f"[{marks[row.status]}] {who}{row.summary}")
            if row.hint and row.status != "ok":
                print(f"        -> {row.hint}")
    return EXIT_FAILED if any(r.status == "fail" for r in result.checks) else EXIT_OK


def _providers(args: argparse.Namespace) -> int:
    from hermesd.engine import google_cloud, listing
    from hermesd.protocol import to_wire

    result = listing.providers_result()
    if args.json:
        _emit_json(to_wire(result))
        return EXIT_OK
    for row in result.providers:
        key = row.key_env_var or ("needs " + " or ".join(row.key_env_vars) if row.key_env_vars else row.auth_type)
        if not row.configured and row.auth_type == google_cloud.AUTH_TYPE:  # a token alone is not enough
            key = f"needs Google Cloud credentials: `hermesd doctor {row.name}` shows the fix"
        if row.keyless:
            key = f"no key needed ({row.base_url})"
        aliases = f" ({', '.join(row.aliases)})" if row.aliases else ""
        mark = "*" if row.configured else " "
        print(f"{mark} {row.name}{aliases}  [{row.api_mode}, {row.source}]  {key}")
    for err in result.plugin_errors:
        line = f":{err.line}" if err.line else ""
        print(f"! plugin {err.plugin} failed: {err.message} ({err.path}{line})", file=sys.stderr)
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    from hermesd.engine import listing
    from hermesd.engine.errors import HermesError
    from hermesd.protocol import to_wire

    try:
        result = listing.models_result(args.provider, args.refresh)
    except HermesError as exc:
        print(f"hermesd: {exc.message}; {exc.hint}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        _emit_json(to_wire(result))
        return EXIT_OK
    for model in result.models:
        note = f"  - {model.description}" if model.description else ""
        print(f"{model.id}{note}")
    when = f", fetched {result.fetched_at}" if result.fetched_at else ""
    count = len(result.models)
    print(f"({count} model{'' if count == 1 else 's'} from {result.source}{when})", file=sys.stderr)
    if result.error:
        print(f"note: {result.error}", file=sys.stderr)
    return EXIT_OK


def _model(args: argparse.Namespace) -> int:
    """``hermesd model [PROVIDER/MODEL]``: the picker's rows, or one atomic switch through hermes/selectModel's code."""
    from hermesd.engine import listing
    from hermesd.protocol import UNSET, to_wire

    if not args.choice:
        picker = listing.picker_result(args.refresh)
        if args.json:
            _emit_json(to_wire(picker))
            return EXIT_OK
        group = None
        for row in picker.items:
            if row.kind == "setup":
                continue
            if row.group != group:
                group = row.group
                print(f"{group}:")
            if row.kind == "notice":
                print(f"! {row.label}")
                continue
            shown = f"{row.provider}/{row.id}" if not row.id.startswith(f"{row.provider}/") else row.id
            label = f"  ({row.label})" if row.label != row.id else ""
            about = f"  - {row.description}" if row.description else ""
            print(f"{'*' if row.current else ' '} {shown}{label}{about}")
        if picker.setup:
            print(f"({len(picker.setup)} more provider{'s' if len(picker.setup) != 1 else ''} need a key or sign-in: "
                  "`hermesd providers` lists them)")
        for error in picker.errors or []:
            print(f"note: {error}", file=sys.stderr)
        return EXIT_OK
    provider, model = _split_choice(args.choice)
    score = UNSET if args.min_coding_score is None else args.min_coding_score
    from hermesd.settings.config import UnknownName

    store = session = None
    if args.session:
        from hermesd.engine.sessions import SessionStore

        store = SessionStore()
        session = store.get(args.session)
        if session is None:
            raise UnknownName(f"unknown session {args.session!r}: `hermesd sessions` lists them")
    elif args.default:
        raise UnknownName("--default goes with --session ID (without it the choice is the default anyway)")
    scope = "session" if session is not None and not args.default else "default"
    result, _ = listing.select(provider, model, score, scope, store, session)
    if args.json:
        _emit_json(to_wire(result))
    else:
        print(result.message)
        if result.hint:
            print(f"note: {result.hint}", file=sys.stderr)
    return EXIT_OK


def _latest_session() -> str | None:
    """The most recently updated conversation's id (``hermesd chat --continue``), or None."""
    from hermesd.engine.sessions import SessionStore

    rows = SessionStore().page(limit=1).sessions
    return rows[0].session_id if rows else None


def _split_choice(words: list[str]) -> tuple[str, str]:
    """``PROVIDER MODEL`` or ``PROVIDER/MODEL``; a model id that itself starts with its provider
    (``openrouter/pareto-code``) stands alone. Unknown providers raise UnknownName (exit 2)."""
    import providers
    from providers.pareto import PARETO_MODEL

    from hermesd.settings.config import UnknownName, validate

    if len(words) == 2:
        return words[0], words[1]
    if len(words) > 2:
        raise UnknownName("give one PROVIDER/MODEL (or PROVIDER MODEL)")
    head, sep, rest = words[0].partition("/")
    if not sep or not rest:
        validate("model.provider", head)  # "did you mean" for a provider typed alone
        raise UnknownName(f"name a model too: `hermesd model {head}/MODEL` (`hermesd model` lists them)")
    profile = providers.get_provider_profile(head)
    if profile is None:
        validate("model.provider", head)
    assert profile is not None
    own = f"{profile.name}/" + rest
    if own in (profile.fallback_models or ()) or own == PARETO_MODEL:
        return profile.name, own
    return profile.name, rest


def _prompt(args: argparse.Namespace) -> str:
    if args.prompt == "-":
        args.prompt = sys.stdin.read()  # once: the in-process path may need it after the shared daemon's
    return args.prompt


def _chat_params(args: argparse.Namespace) -> dict[str, Any]:
    """``hermes/chat``'s params, as the shared daemon receives them (``hermesd chat`` is then one of its clients)."""
    params: dict[str, Any] = {"message": _prompt(args)}
    for name, value in (("provider", args.provider), ("model", args.model), ("system", args.system), ("sessionId", args.session)):
        if value:
            params[name] = value
    return params


def _chat_request(args: argparse.Namespace) -> Any:
    """The chat engine's request, built from the command line (in-process: no JSON in between)."""
    from hermesd.protocol import ChatParams

    return ChatParams(message=_prompt(args), provider=args.provider or None, model=args.model or None,
                      system=args.system or None, session_id=args.session or None)


def _print_delta(args: argparse.Namespace) -> Any:
    def on_delta(session_id: str, text: str, reasoning: str) -> None:
        if not args.json and text:
            sys.stdout.write(text)
            sys.stdout.flush()

    return on_delta


def _chat(args: argparse.Namespace) -> int:
    from hermesd.engine.chat import ChatEngine
    from hermesd.engine.errors import HermesError
    from hermesd.protocol import ParamsError, to_wire
    from hermesd.engine.sessions import SessionStore

    request = _chat_request(args)
    engine = ChatEngine(SessionStore())
    try:
        if args.preview:
            _emit_json(to_wire(engine.preview(request)))
            return EXIT_OK
        import asyncio  # not at the top: the forwarder (`hermesd --stdio`) never needs it

        result = asyncio.run(engine.chat(request, on_delta=_print_delta(args)))
        engine.store.write_recovery()  # a turn the disk refused (reported): the next daemon replays it
    except (ParamsError, HermesError) as exc:
        message = str(exc) if isinstance(exc, ParamsError) else f"{exc.message}; {exc.hint}"
        print(f"hermesd: {message}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ParamsError) else EXIT_CONFIG
    return _report_chat(args, to_wire(result))


def _report_chat(args: argparse.Namespace, result: dict[str, Any]) -> int:
    """A chat's result as the user sees it: the JSON ``hermes/chat`` returns (``--json``), or notes on stderr.

    It reads that JSON form because both paths end there: the shared daemon
    sends it, and the in-process engine's result is written the same way.
    """
    for warning in result.get("configWarnings") or []:
        print(f"hermesd: warning: config.yaml: {warning}", file=sys.stderr)
    if args.json:
        _emit_json(result)
    else:
        if result["text"] and not result["text"].endswith("\n"):
            sys.stdout.write("\n")
        if result.get("routedModel"):
            print(f"(routed to {result['routedModel']})", file=sys.stderr)
        if result.get("fallbacks"):
            by = result["answeredBy"]
            why = ", ".join(f"{f['provider']}/{f['model']}: {f['error']['kind']}"
                            + (f" {f['error']['status']}" if f["error"].get("status") else "") for f in result["fallbacks"])
            print(f"(answered by {by['provider']}/{by['model']} (fallback; {why}))", file=sys.stderr)
    if result.get("error"):
        err = result["error"]
        print(f"hermesd: {err['kind']}: {err['message']}" + (f"\n  -> {err['hint']}" if err.get("hint") else ""), file=sys.stderr)
        return EXIT_CONFIG if err["kind"] == "config_error" else EXIT_FAILED
    return EXIT_OK


def _chat_via_daemon(args: argparse.Namespace) -> int | None:
    """``hermesd chat`` on the running shared daemon, before anything of the chat engine is imported;
    None when none runs (or ``--no-shared``, ``--preview``): the caller works in-process."""
    if args.preview or args.no_shared or os.environ.get(SHARED_ENV) == "0":
        return None
    from hermesd.client import remote

    try:
        result = remote.chat(_chat_params(args), _print_delta(args))
    except remote.RemoteError as exc:  # -32602: what ParamsError and HermesError become over the protocol
        print(f"hermesd: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.code == -32602 else EXIT_FAILED
    return None if result is None else _report_chat(args, result)


def _config(args: argparse.Namespace) -> int:
    from hermesd.settings import config

    if args.action == "path":
        path = str(config.load().path)
        _emit_json({"path": path}) if args.json else print(path)
        return EXIT_OK
    if args.action == "get":
        cfg = config.load()
        if cfg.parse_error is not None:
            print(f"hermesd: {cfg.parse_error}", file=sys.stderr)
        value = config.masked(cfg.show(args.key or ""), args.key.rsplit(".", 1)[-1] if args.key else "")
        if args.key and args.key not in config.KEYS and args.key not in config.ALIASES and value is None:
            print(f"hermesd: {config.unknown_key(args.key)}", file=sys.stderr)
            return EXIT_USAGE
        if args.json or isinstance(value, (dict, list)):
            _emit_json(value)
        else:
            print("null" if value is None else value)
        return EXIT_OK
    from hermesd.engine.listing import set_config_value

    if args.action == "unset":
        value = set_config_value(args.key, None, reset=True)
    else:
        import yaml

        try:
            parsed = yaml.safe_load(args.value)
        except yaml.YAMLError:
            parsed = args.value
        value = set_config_value(args.key, parsed)
    if args.json:
        from hermesd.protocol import SetConfigResult, to_wire

        _emit_json(to_wire(SetConfigResult(key=args.key, value=config.masked(value))))
    else:
        print(f"{args.key} = {json.dumps(value)}")
    return EXIT_OK


def _plugins(args: argparse.Namespace) -> int:
    """``hermesd plugins enable NAME``: a quarantined plugin is released, an installed entry-point plugin
    enabled; running daemons load it at their next plugin check."""
    from importlib.metadata import entry_points

    from hermesd.settings import config
    from providers.discovery import ENTRY_POINT_GROUPS, release_quarantine

    if release_quarantine(name=args.name):
        print(f"{args.name}: released from quarantine; it loads at the next session or listing")
        return EXIT_OK
    found = [ep for group in ENTRY_POINT_GROUPS for ep in entry_points(group=group)]
    names = {ep.name for ep in found} | {ep.dist.name for ep in found if ep.dist is not None}
    if args.name not in names:
        from hermesd.settings.suggest import did_you_mean

        listed = ", ".join(sorted({ep.name for ep in found})) or "none is installed"
        print(f"hermesd: no quarantined or installed plugin is named {args.name!r}{did_you_mean(args.name, sorted(names))}; "
              f"installed entry-point plugins: {listed}", file=sys.stderr)
        return EXIT_USAGE
    enabled = config.enable_plugin(args.name)
    print(f"enabled {args.name}: plugins.enabled = {json.dumps(enabled)} in {config.config_path()}; "
          "running daemons load it at their next plugin refresh")
    return EXIT_OK


def _setup(args: argparse.Namespace) -> int:
    from hermesd.engine import setup

    return setup.command(args)


def _sessions(args: argparse.Namespace) -> int:
    from hermesd.protocol import ListSessionsResult, to_wire
    from hermesd.engine.sessions import SessionStore

    rows = SessionStore().list()
    if args.json:
        _emit_json(to_wire(ListSessionsResult(sessions=rows)))
    else:
        for row in rows:
            print(f"{row.session_id}  {row.updated_at}  {row.provider}/{row.model}  {row.title}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
