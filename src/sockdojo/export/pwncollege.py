"""`sockdojo export pwncollege DIR`: the Sockets module as a pwn.college dojo repository.

What is written (the platform's layout, checked by `dojo_rules`):

    dojo.yml                     the dojo: id, name, type, award, image, its one module
    sockets/module.yml           the module's name and challenges, in order
    sockets/DESCRIPTION.md       the module's introduction
    sockets/<id>/DESCRIPTION.md  the challenge's description, in the platform's words
    sockets/<id>/run             /challenge/run: `challenge_run.main("<id>")`, run as root
    sockets/<id>/sockdojo/...    our challenge core, vendored (standard library only)

Only a challenge's own folder reaches the learner's container (as /challenge), so each one
carries its own copy of the core.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import sockdojo
from sockdojo.challenges import registry
from sockdojo.errors import InternalError
from sockdojo.export import dojo_rules
from sockdojo.export.challenge_run import RUN_COMMAND, platform_words

IMAGE = "pwncollege/challenge-simple"  # Python with the standard library only, and exec-suid
DOJO_TYPE = "topic"
AWARD_EMOJI = "\U0001f50c"  # electric plug
DEFAULT_DOJO_ID = "sockdojo"
DEFAULT_NAME = "Sockets with sockdojo"
ENTRY_MODULE = "sockdojo.export.challenge_run"
# Everything `sockdojo run` uses, and what it imports (found by reading the imports). A module
# among these that needs a third-party package is left out, unless the entry module needs it,
# which is a bug (the core must stay standard library only).
VENDORED_PACKAGES = ("challenges", "net", "sandbox", "flags", "mistakes")
VENDORED_MODULES = ("sockdojo.errors", ENTRY_MODULE, "sockdojo.export.file_flag")

RUN_SCRIPT = f'''{dojo_rules.SHEBANG}
"""/challenge/run of the {{id}} challenge: sockdojo's checker, with the flag from /flag."""

import sys

sys.dont_write_bytecode = True  # /challenge is root's: leave no caches in it
# -I keeps this folder off sys.path; our vendored core lives next to this script.
sys.path.insert(0, "{dojo_rules.CHALLENGE_MOUNT}")

from sockdojo.export.challenge_run import main  # noqa: E402

main("{{id}}")
'''


@dataclass(frozen=True)
class DojoExport:
    root: Path
    dojo_yml: dict[str, object]
    module_yml: dict[str, object]
    vendored: tuple[str, ...]  # module names copied into each challenge folder


def for_platform(markdown: str) -> str:
    """Our description with the platform's commands: `/challenge/run`, and the page's flag box."""
    text = re.sub(r"`sockdojo submit '[^']*'`", "the flag box of this challenge's page", markdown)
    text = re.sub(r"a line like `sockdojo\{…\}`", "a line like `pwn.college{…}`", text)
    text = re.sub(r"`sockdojo\s+run …`", f"`{RUN_COMMAND}`", text)
    return platform_words(text)


def to_yaml(value: object, indent: str = "") -> str:
    """A small YAML writer for what we write: mappings, lists, strings, numbers, booleans.

    Strings are JSON strings, which YAML reads as double-quoted scalars with the same escapes.
    """
    if isinstance(value, dict):
        if not value:
            return "{}\n"
        out = []
        for key, item in value.items():
            plain = re.fullmatch(r"[a-z][a-z0-9_-]*", str(key))
            head = indent + (str(key) if plain else json.dumps(str(key), ensure_ascii=False)) + ":"
            if isinstance(item, dict | list) and item:
                out.append(head + "\n" + to_yaml(item, indent + "  "))
            else:
                out.append(head + " " + to_yaml(item, indent + "  "))
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return "[]\n"
        out = []
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + "  ")
                out.append(f"{indent}- " + body[len(indent) + 2 :])
            else:
                out.append(f"{indent}- " + to_yaml(item, indent + "  "))
        return "".join(out)
    if isinstance(value, bool):
        return ("true" if value else "false") + "\n"
    if isinstance(value, int | float):
        return f"{value}\n"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) + "\n"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def export_pwncollege(
    root: Path, *, dojo_id: str = DEFAULT_DOJO_ID, name: str = DEFAULT_NAME
) -> DojoExport:
    """Write the dojo repository into `root` (created; it must be empty if it exists)."""
    root.mkdir(parents=True, exist_ok=True)
    dojo_yml: dict[str, object] = {
        "id": dojo_id,
        "name": name,
        "type": DOJO_TYPE,
        "award": {"emoji": AWARD_EMOJI},
        "image": IMAGE,
        "modules": [{"id": registry.MODULE_ID}],
    }
    module_yml: dict[str, object] = {
        "name": registry.MODULE_TITLE,
        "challenges": [{"id": c.id, "name": c.title} for c in registry.CHALLENGES],
    }
    (root / "dojo.yml").write_text(to_yaml(dojo_yml), encoding="utf-8")
    module = root / registry.MODULE_ID
    module.mkdir()
    (module / "module.yml").write_text(to_yaml(module_yml), encoding="utf-8")
    (module / "DESCRIPTION.md").write_text(
        for_platform(registry.module_introduction()), encoding="utf-8"
    )
    vendored = vendored_modules()
    for challenge in registry.CHALLENGES:
        folder = module / challenge.id
        folder.mkdir()
        (folder / "DESCRIPTION.md").write_text(
            for_platform(challenge.description), encoding="utf-8"
        )
        run = folder / "run"
        run.write_text(RUN_SCRIPT.format(id=challenge.id), encoding="utf-8")
        run.chmod(0o755)
        copy_modules(vendored, folder)
    export = DojoExport(root, dojo_yml, module_yml, tuple(sorted(vendored)))
    problems = dojo_rules.check_dojo(root, dojo_yml, {registry.MODULE_ID: module_yml})
    if problems:
        raise InternalError(
            "sockdojo wrote a dojo that pwn.college would refuse.", detail="; ".join(problems)
        )
    return export


def package_root() -> Path:
    return Path(sockdojo.__file__).parent


def module_source(name: str) -> Path | None:
    return dojo_rules.module_file(package_root().parent, name)


def third_party_imports(path: Path) -> set[str]:
    """Top-level packages `path` needs that are neither the standard library nor ours.

    An import inside `try: ... except ImportError` is optional (uvloop, where it is installed)
    and does not count: the code runs without it.
    """
    tree = ast.parse(path.read_bytes())
    optional: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            optional.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return {t for t in tops if t not in sys.stdlib_module_names and t != "sockdojo"}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        isinstance(k, ast.Name) and k.id in {"ImportError", "ModuleNotFoundError"} for k in kinds
    )


def closure(names: set[str]) -> dict[str, Path]:
    """`names`, their packages, and every module of ours they import, with their source files."""
    found: dict[str, Path] = {}
    todo = [".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 2)]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = module_source(name)
        if path is None:
            continue  # `from package import name`, where name is not a module
        found[name] = path
        todo += dojo_rules.imported_modules(ast.parse(path.read_bytes()), "sockdojo")
    return found


def vendored_modules() -> dict[str, Path]:
    """The modules each challenge folder gets: what /challenge/run needs, and the core."""
    needed = closure({ENTRY_MODULE})
    wrong = {name: sorted(t) for name, p in needed.items() if (t := third_party_imports(p))}
    if wrong:
        raise InternalError(
            "The challenge core needs packages outside the standard library, so it cannot run "
            "on pwn.college.",
            detail=", ".join(f"{name} imports {', '.join(t)}" for name, t in sorted(wrong.items())),
        )
    roots = set(VENDORED_MODULES)
    for package in VENDORED_PACKAGES:
        base = package_root() / package
        roots.update(
            "sockdojo."
            + ".".join(p.relative_to(package_root()).with_suffix("").parts).removesuffix(
                ".__init__"
            )
            for p in base.rglob("*.py")
            if "__pycache__" not in p.parts
        )
    for name, path in sorted(closure(roots).items()):
        # Left out: a module of these packages that needs a third-party package (none today).
        if name not in needed and not third_party_imports(path):
            inner = closure({name})
            if not any(third_party_imports(p) for p in inner.values()):
                needed.update(inner)
    return needed


def copy_modules(modules: dict[str, Path], folder: Path) -> None:
    base = package_root().parent
    for path in modules.values():
        target = folder / path.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        target.chmod(0o644)
