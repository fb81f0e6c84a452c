"""pwn.college's rules for a dojo repository, checked on what `sockdojo export pwncollege` wrote.

Each rule names where it comes from in pwncollege/dojo (read there, written here in our own
words): `dojo_plugin/utils/dojo.py` (the dojo.yml schema and how the repository is read),
`dojo_plugin/api/v1/docker.py` (how a challenge reaches a learner's container), `docs/challenge.md`,
pwncollege/example-dojo, and pwncollege/exec-suid (how a script runs as root).

`check_dojo(root, dojo_yml, module_ymls)` takes the YAML documents already parsed (the tests parse
the files with PyYAML, as the platform does) and returns every problem found, empty when none.
"""

from __future__ import annotations

import ast
import re
import stat
import unicodedata
from collections.abc import Mapping
from pathlib import Path

# dojo.py: ID_REGEX, used for dojo, module, challenge ids and the dojo's `type`.
ID = re.compile(r"[a-z0-9-]{1,32}")
# dojo.py: NAME_REGEX, for dojo, module and challenge names.
NAME = re.compile(r"[\S ]{1,128}")
# dojo.py: IMAGE_REGEX.
IMAGE = re.compile(r"\S{1,256}")

# dojo.py's DOJO_SPEC is a strict schema: a key it does not name fails the whole dojo. These are
# the keys it names at each level (only those we could ever write matter, but all are allowed).
DOJO_KEYS = frozenset(
    {
        "id", "name", "description", "visibility", "password", "type", "award", "image",
        "privileged", "allow_privileged", "show_scoreboard", "importable", "interfaces",
        "import", "auxiliary", "survey", "survey-sources", "modules", "pages", "files",
    }
)  # fmt: skip
AWARD_KEYS = frozenset({"emoji", "belt"})
MODULE_KEYS = frozenset(
    {
        "id", "name", "description", "visibility", "image", "privileged", "allow_privileged",
        "show_challenges", "show_scoreboard", "importable", "interfaces", "import", "survey",
        "challenges", "resources", "auxiliary",
    }
)  # fmt: skip
# A module's `challenges:` entries become resources of type "challenge" (expand_module_challenges).
CHALLENGE_KEYS = frozenset(
    {
        "id", "name", "description", "visibility", "image", "privileged", "allow_privileged",
        "importable", "progression_locked", "auxiliary", "required", "import", "transfer",
        "survey", "interfaces",
    }
)  # fmt: skip

# pwncollege/exec-suid: a script runs as root only through this interpreter line; the image
# pwncollege/challenge-simple has its Python at /usr/local/bin/python. `-I` keeps the learner's
# PYTHON* variables, user site-packages and the current directory out of a root process.
SHEBANG = "#!/usr/bin/exec-suid -- /usr/local/bin/python -I"
# docker.py: the challenge folder is copied into the container at /challenge, and the module's
# own folder, the dojo's files, anything outside the challenge folder, stays outside.
CHALLENGE_MOUNT = "/challenge"


def _unknown(where: str, data: Mapping[str, object], allowed: frozenset[str]) -> list[str]:
    return [
        f"{where}: unknown key {key!r} (the platform rejects it)"
        for key in data
        if key not in allowed
    ]


def _id(where: str, value: object) -> list[str]:
    if isinstance(value, str) and ID.fullmatch(value):
        return []
    return [f"{where}: id {value!r} does not match ^[a-z0-9-]{{1,32}}$"]


def _name(where: str, value: object) -> list[str]:
    if value is None or (isinstance(value, str) and NAME.fullmatch(value)):
        return []
    return [f"{where}: name {value!r} does not match ^[\\S ]{{1,128}}$"]


def is_one_emoji(text: str) -> bool:
    """dojo.py checks `award.emoji` with emoji.is_emoji: a single emoji. Ours is one pictograph
    (a symbol code point outside ASCII), perhaps with the emoji presentation selector."""
    core = text.removesuffix("\ufe0f")
    return len(core) == 1 and ord(core) > 0x7F and unicodedata.category(core) == "So"


def check_dojo(root: Path, dojo_yml: object, module_ymls: Mapping[str, object]) -> list[str]:
    problems: list[str] = []
    # dojo.py dojo_from_dir: a repository is a dojo by its dojo.yml.
    if not (root / "dojo.yml").is_file():
        problems.append("dojo.yml is missing")
    # dojo.py dojo_from_dir: no path may lead outside the repository; we write no symlinks.
    problems += [f"{p.relative_to(root)}: a symlink" for p in root.rglob("*") if p.is_symlink()]
    if not isinstance(dojo_yml, dict):
        return [*problems, "dojo.yml: not a mapping"]
    problems += _unknown("dojo.yml", dojo_yml, DOJO_KEYS)
    # dojo.py dojo_from_spec: "Dojo id must be defined".
    problems += _id("dojo.yml", dojo_yml.get("id"))
    problems += _name("dojo.yml", dojo_yml.get("name"))
    if "type" in dojo_yml:
        problems += [
            f"dojo.yml: type {dojo_yml['type']!r}"
            for _ in [0]
            if not ID.fullmatch(str(dojo_yml["type"]))
        ]
    if "image" in dojo_yml and not IMAGE.fullmatch(str(dojo_yml["image"])):
        problems.append(f"dojo.yml: image {dojo_yml['image']!r}")
    award = dojo_yml.get("award", {})
    if not isinstance(award, dict):
        problems.append("dojo.yml: award is not a mapping")
    else:
        problems += _unknown("dojo.yml award", award, AWARD_KEYS)
        if "emoji" in award and not (
            isinstance(award["emoji"], str) and is_one_emoji(award["emoji"])
        ):
            problems.append(f"dojo.yml: award emoji {award['emoji']!r} is not one emoji")
    modules = dojo_yml.get("modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        return [*problems, "dojo.yml: modules is not a list of mappings"]
    for entry in modules:
        problems += _check_module(root, entry, module_ymls)
    return problems


def _check_module(
    root: Path, entry: dict[str, object], module_ymls: Mapping[str, object]
) -> list[str]:
    problems = _unknown("dojo.yml module", entry, MODULE_KEYS)
    module_id = entry.get("id")
    problems += _id("dojo.yml module", module_id)
    if not isinstance(module_id, str):
        return problems
    # dojo.py load_dojo_subyamls: <module-id>/module.yml fills in what dojo.yml leaves out
    # (dojo.yml wins), and <module-id>/DESCRIPTION.md a missing description.
    merged: dict[str, object] = {}
    sub = module_ymls.get(module_id)
    folder = root / module_id
    if (folder / "module.yml").is_file():
        if not isinstance(sub, dict):
            return [*problems, f"{module_id}/module.yml: not a mapping"]
        problems += _unknown(f"{module_id}/module.yml", sub, MODULE_KEYS)
        merged.update(sub)
    merged.update(entry)
    problems += _name(f"module {module_id}", merged.get("name"))
    challenges = merged.get("challenges", [])
    if not isinstance(challenges, list) or not all(isinstance(c, dict) for c in challenges):
        return [*problems, f"module {module_id}: challenges is not a list of mappings"]
    seen: set[object] = set()
    for challenge in challenges:
        where = f"module {module_id} challenge {challenge.get('id')!r}"
        problems += _unknown(where, challenge, CHALLENGE_KEYS)
        problems += _id(where, challenge.get("id"))
        problems += _name(where, challenge.get("name"))
        if challenge.get("id") in seen:
            problems.append(f"{where}: listed twice")
        seen.add(challenge.get("id"))
        if isinstance(challenge.get("id"), str):
            problems += check_challenge_folder(folder / str(challenge["id"]))
    return problems


def check_challenge_folder(folder: Path) -> list[str]:
    """What the platform needs of a challenge folder that is copied into /challenge."""
    where = folder.name
    if not folder.is_dir():
        return [f"{where}: no folder for the challenge"]
    problems = []
    # dojo.py load_dojo_subyamls: the challenge's description comes from its DESCRIPTION.md.
    if not (folder / "DESCRIPTION.md").is_file():
        problems.append(f"{where}: DESCRIPTION.md is missing")
    run = folder / "run"
    if not run.is_file():
        return [
            *problems,
            f"{where}: run is missing (learners start a challenge with /challenge/run)",
        ]
    # docker.py: the platform makes every file 4755 itself, but a run that is not executable in
    # the repository is a mistake: the export's tests run it as it is.
    if not run.stat().st_mode & stat.S_IXUSR:
        problems.append(f"{where}/run is not executable")
    source = run.read_text(encoding="utf-8")
    if source.splitlines()[:1] != [SHEBANG]:
        problems.append(f"{where}/run does not start with {SHEBANG!r}")
    try:
        tree = ast.parse(source, filename=str(run))
    except SyntaxError as error:
        return [*problems, f"{where}/run: {error}"]
    problems += [f"{where}: {p}" for p in missing_vendored_modules(folder, tree)]
    return problems


def missing_vendored_modules(folder: Path, tree: ast.Module) -> list[str]:
    """`sockdojo` modules the run script needs that are not inside its own folder.

    `-I` leaves the script's folder off sys.path, and only the challenge folder reaches
    /challenge (docker.py), so everything the script imports of ours must be found there.
    """
    missing: list[str] = []
    seen: set[str] = set()
    # Each vendored module parsed once, and the names it binds found once, however many
    # imports name it.
    trees: dict[Path, ast.Module] = {}
    bound: dict[str, set[str] | None] = {}

    def parsed(path: Path) -> ast.Module:
        if path not in trees:
            trees[path] = ast.parse(path.read_bytes())
        return trees[path]

    def defines(parent: str, attribute: str) -> bool | None:
        """For `from a.b import c` where a/b/c.py is missing: True when c is a name that a.b
        defines (a class, a function), False when it is not (a missing module), None when a.b
        is missing itself (reported on its own)."""
        if parent not in bound:
            path = module_file(folder, parent)
            bound[parent] = None if path is None else _bound_names(parsed(path))
        names = bound[parent]
        return None if names is None else attribute in names

    todo = list(imported_modules(tree, "sockdojo"))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(folder, name)
        if path is None:
            parent, _, attribute = name.rpartition(".")
            if defines(parent, attribute) is False:
                missing.append(f"imports {name}, which is not vendored in the folder")
            continue
        todo += imported_modules(parsed(path), "sockdojo")
    missing.sort()
    return missing


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name)
    return names


def module_file(folder: Path, name: str) -> Path | None:
    base = folder.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Modules of `package` that `tree` imports, anywhere (imports inside functions count).

    `from a.b import c` names both a.b and a.b.c: c may be a submodule.
    """
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        found.update(n for n in names if n == package or n.startswith(package + "."))
    for name in list(found):
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return found
