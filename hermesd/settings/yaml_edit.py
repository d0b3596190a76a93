"""Round-trip edits of config.yaml: change one key, keep every other byte the user wrote.

ruamel.yaml keeps comments, blank lines, key order, quoting and ``${VAR}``
templates through a load and dump. It is imported only here, and only when
something is written: reads stay on PyYAML's C loader.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-wrap a long line
    # Hermes' save_config (PyYAML) writes 2-space mappings and unindented sequences.
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def edit(text: str, path: Path, check_size: Callable[[Any, Path], None], mutate: Callable[[Any], None]) -> str:
    """``text`` with ``mutate`` applied to its round-trip document, dumped back."""
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml()
    doc = _load_bounded(yaml, text, path, check_size) if text.strip() else None
    if doc is None:
        doc = CommentedMap()
    mutate(doc)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue() if len(doc) else ""


def _load_bounded(yaml: Any, text: str, path: Path, check_size: Callable[[Any, Path], None]) -> Any:
    """``yaml.load(text)``, with the node graph checked before anything is built (an alias bomb)."""
    constructor, parser = yaml.get_constructor_parser(text)
    try:
        node = constructor.composer.get_single_node()
        if node is None:
            return None
        check_size(node, path)
        return constructor.construct_document(node)
    finally:
        parser.dispose()
        for reset in (getattr(yaml._reader, "reset_reader", None), getattr(yaml._scanner, "reset_scanner", None)):
            if reset is not None:
                reset()


def _is_collection(node: Any) -> bool:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return isinstance(node, (CommentedMap, CommentedSeq))


def _last_slot(node: Any) -> tuple[Any, int] | None:
    """(key, comment slot) of a collection's last item, or None when it is empty."""
    from ruamel.yaml.comments import CommentedMap

    if not _is_collection(node) or not len(node):
        return None
    if isinstance(node, CommentedMap):
        return list(node.keys())[-1], 2
    return len(node) - 1, 0


def _take_tail_comment(node: Any) -> str | None:
    """Detach the comment lines that follow ``node``'s last line (they belong after it, not to it).

    ruamel hangs the comments and blank lines after a block on its deepest
    last item; a key appended to the block would land below them.
    """
    found = None
    while (slot := _last_slot(node)) is not None:
        key, index = slot
        holder = node.ca.items.get(key)
        if holder and holder[index] is not None:
            found = (holder, index)
        node = node[key]
    if found is None:
        return None
    holder, index = found
    token = holder[index]
    cut = token.value.find("\n")
    keep, rest = token.value[: cut + 1], token.value[cut + 1 :]
    if not rest.strip():
        return None
    if keep.strip():
        token.value = keep
    else:
        holder[index] = None
    return rest


def _attach_tail_comment(node: Any, text: str) -> None:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    parent, slot = node, _last_slot(node)
    while slot is not None and _is_collection(parent[slot[0]]) and len(parent[slot[0]]):
        parent = parent[slot[0]]
        slot = _last_slot(parent)
    if slot is None:
        return
    key, index = slot
    entry = parent.ca.items.setdefault(key, [None, None, None, None])
    entry[index] = CommentToken("\n" + text, CommentMark(0), None)


def _to_block(value: Any) -> Any:
    """Plain dicts and lists as round-trip nodes (block style, like the rest of Hermes' file)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _to_block(v)
        return out
    if isinstance(value, list):
        return CommentedSeq(_to_block(v) for v in value)
    return value


def put(mapping: Any, key: str, value: Any) -> None:
    """Set one key of a mapping; a new key goes last, above the comments that close the block."""
    from ruamel.yaml.scalarstring import ScalarString

    if key in mapping:
        old = mapping[key]
        if isinstance(old, dict) and isinstance(value, dict):
            for name in [k for k in old if k not in value]:  # a mapping is edited in place: its comments stay
                remove(old, [name])
            if not len(old) and old.fa.flow_style():
                old.fa.set_block_style()
            for name, item in value.items():
                put(old, name, item)
            return
        if isinstance(old, ScalarString) and isinstance(value, str):
            value = type(old)(value)  # keep the quoting the user chose
        tail = _take_tail_comment(old) if _is_collection(old) else None
        mapping[key] = _to_block(value)
        if tail:
            if _is_collection(mapping[key]) and len(mapping[key]):
                _attach_tail_comment(mapping[key], tail)
            else:
                _attach_after(mapping, key, tail)
        return
    tail = _take_tail_comment(mapping)
    if getattr(mapping, "fa", None) is not None and not len(mapping):
        mapping.fa.set_block_style()  # `providers: {}` grows into a block
    mapping[key] = _to_block(value)
    if tail:
        _attach_tail_comment(mapping, tail) if _is_collection(mapping[key]) and len(mapping[key]) else _attach_after(mapping, key, tail)


def _attach_after(mapping: Any, key: str, text: str) -> None:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    entry = mapping.ca.items.setdefault(key, [None, None, None, None])
    entry[2] = CommentToken("\n" + text, CommentMark(0), None)


def set_path(doc: Any, parts: list[str], value: Any) -> None:
    """``a.b.c = value``, creating mappings on the way (a non-mapping in the way is replaced)."""
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            put(node, part, {})
            child = node[part]
            if getattr(child, "fa", None) is not None:
                child.fa.set_block_style()
        node = child
    put(node, parts[-1], value)


def remove(doc: Any, parts: list[str]) -> None:
    """Delete ``a.b.c`` if present, and the sections it leaves empty (no ``openrouter: {}`` behind).

    The comments that closed a block stay in the file.
    """
    chain: list[tuple[Any, str]] = []
    node = doc
    for part in parts[:-1]:
        if not isinstance(node, dict):
            return
        chain.append((node, part))
        node = node.get(part)
    if not isinstance(node, dict) or parts[-1] not in node:
        return
    _delete(node, parts[-1])
    for parent, part in reversed(chain):
        if not isinstance(parent.get(part), dict) or len(parent[part]):
            break
        _delete(parent, part)


def _delete(mapping: Any, key: str) -> None:
    if list(mapping.keys())[-1] != key:
        del mapping[key]
        return
    tail = _take_tail_comment(mapping)
    del mapping[key]
    if tail and len(mapping):
        last = list(mapping.keys())[-1]
        if _is_collection(mapping[last]) and len(mapping[last]):
            _attach_tail_comment(mapping[last], tail)
        else:
            _attach_after(mapping, last, tail)
